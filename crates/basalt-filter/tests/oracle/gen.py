import random, sys
random.seed(int(sys.argv[1])); N=int(sys.argv[2])
props=['a','b','c']
vals=['5','5.0','abc','true','TRUE','false','',' 5','1e3','-3','+4','2147483648','NaN','Infinity','x','3','10','0','-0.0','1.5d','9223372036854775808','0x10']
lits=['5','0','3L','2147483648','1.5','.5','5.','1e2','\'x\'','\'5\'','\'abc\'','TRUE','FALSE','NULL','-5','- 1.5','\'\'','\'tr\'\'ue\'','10','9223372036854775807','1e400','0.0','+ 3']
def atom(d):
    r=random.random()
    if r<0.45: return random.choice(props)
    if r<0.85: return random.choice(lits)
    if d>0: return '('+expr(d-1)+')'
    return random.choice(props)
def cmp(d):
    l=atom(d); r=random.random()
    ops=['=','<>','>','>=','<','<=']
    if r<0.5: return l+' '+random.choice(ops)+' '+atom(d)
    if r<0.6: return l+random.choice([' BETWEEN ',' NOT BETWEEN '])+atom(d)+' AND '+atom(d)
    if r<0.7: return l+random.choice([' IN ',' NOT IN '])+'('+','.join(random.choice(["'5'","'abc'","'x'","''"]) for _ in range(random.randint(1,3)))+')'
    if r<0.8: return l+random.choice([' IS NULL',' IS NOT NULL'])
    if r<0.9: return l+random.choice([' CONTAINS ',' NOT CONTAINS ',' STARTSWITH ',' ENDSWITH ',' NOT ENDSWITH '])+random.choice(["'a'","''","'5'","'x'"])
    return l
def expr(d):
    r=random.random()
    if d<=0 or r<0.4: return cmp(d)
    if r<0.6: return expr(d-1)+' AND '+expr(d-1)
    if r<0.8: return expr(d-1)+' OR '+expr(d-1)
    if r<0.9: return 'NOT '+atom(d)
    return '('+expr(d-1)+')'
for _ in range(N):
    e=expr(3)
    if random.random()<0.05:
        # mutate: drop or duplicate a random char
        i=random.randrange(len(e)+1); e=e[:i]+random.choice(['(',')',"'",'','-','.',' ','@','--x\\n','/*c*/'])+e[i:]
    pr='\x1f'.join(k+'='+random.choice(vals) for k in props if random.random()<0.7)
    print(e+'\t'+pr)
