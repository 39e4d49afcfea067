import java.io.*;
import java.util.*;
import org.apache.rocketmq.filter.expression.*;
import org.apache.rocketmq.filter.parser.*;

public class Oracle {
    public static void main(String[] a) throws Exception {
        BufferedReader r = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        PrintStream out = new PrintStream(System.out, true, "UTF-8");
        String line;
        while ((line = r.readLine()) != null) {
            String[] parts = line.split("\t", -1);
            String expr = parts[0].replace("\\n", "\n");
            Map<String, Object> props = new HashMap<>();
            if (parts.length > 1 && !parts[1].isEmpty()) {
                for (String kv : parts[1].split("\u001f", -1)) {
                    int i = kv.indexOf('=');
                    props.put(kv.substring(0, i), kv.substring(i + 1));
                }
            }
            Expression e;
            try {
                e = SelectorParser.parse(expr);
            } catch (Throwable t) {
                out.println("ERR");
                continue;
            }
            try {
                Object v = e.evaluate(new EvaluationContext() {
                    public Object get(String n) { return props.get(n); }
                    public Map<String, Object> keyValues() { return props; }
                });
                out.println(v == null ? "NULL" : (v instanceof Boolean ? v.toString().toUpperCase() : "OTHER:" + v));
            } catch (Throwable t) {
                out.println("EXC");
            }
        }
    }
}
