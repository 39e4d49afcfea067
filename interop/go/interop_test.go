// Package interop drives Basalt (name server + broker) with the official Apache RocketMQ Go client,
// github.com/apache/rocketmq-client-go/v2.
//
// Run: BASALT_BIN=/path/to/basalt go test -count=1 -timeout 300s -v ./...
package interop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

func TestMain(m *testing.M) {
	// The Go client logs every rebalance and pull at info level; keep only problems.
	// GO_CLIENT_LOG_LEVEL=debug|info|warn|error overrides this when diagnosing.
	level := os.Getenv("GO_CLIENT_LOG_LEVEL")
	if level == "" {
		level = "warn"
	}
	rlog.SetLogLevel(level)
	os.Exit(m.Run())
}

func newProducer(t *testing.T, namesrv string, opts ...producer.Option) rocketmq.Producer {
	t.Helper()
	all := append([]producer.Option{
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{namesrv})),
		producer.WithGroupName(unique("go_interop_pg")),
		// Clients sharing an instance name share one internal client (and its name server list),
		// so every client in this process gets its own.
		producer.WithInstanceName(unique("go_p")),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(10 * time.Second),
	}, opts...)
	p, err := rocketmq.NewProducer(all...)
	if err != nil {
		t.Fatalf("NewProducer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("producer Start: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Shutdown(); err != nil {
			t.Errorf("producer Shutdown: %v", err)
		}
	})
	return p
}

func newPushConsumer(t *testing.T, namesrv, group string, opts ...consumer.Option) rocketmq.PushConsumer {
	t.Helper()
	all := append([]consumer.Option{
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{namesrv})),
		consumer.WithGroupName(group),
		consumer.WithInstance(unique("go_c")),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, opts...)
	c, err := rocketmq.NewPushConsumer(all...)
	if err != nil {
		t.Fatalf("NewPushConsumer: %v", err)
	}
	return c
}

func startConsumer(t *testing.T, c rocketmq.PushConsumer) {
	t.Helper()
	if err := c.Start(); err != nil {
		t.Fatalf("consumer Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Shutdown(); err != nil {
			t.Errorf("consumer Shutdown: %v", err)
		}
	})
}

const userPropKey, userPropValue = "origin", "go-interop"

func TestSyncSendAndPushConsumeWithTagSelector(t *testing.T) {
	b := startBasalt(t)
	topic := unique("GoInteropTag")
	p := newProducer(t, b.Namesrv)

	type sent struct {
		tag, key, msgID string
	}
	const n = 18
	expected := map[string]sent{} // body -> what was sent, TagA/TagB only
	tagC := map[string]bool{}
	for i := 0; i < n; i++ {
		tag := []string{"TagA", "TagB", "TagC"}[i%3]
		body := fmt.Sprintf("sync-%d", i)
		key := fmt.Sprintf("key-%d", i)
		msg := primitive.NewMessage(topic, []byte(body))
		msg.WithTag(tag)
		msg.WithKeys([]string{key})
		msg.WithProperty(userPropKey, userPropValue)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		res, err := p.SendSync(ctx, msg)
		cancel()
		if err != nil {
			t.Fatalf("SendSync #%d (topic %s, auto-created on first send): %v", i, topic, err)
		}
		if res.Status != primitive.SendOK {
			t.Fatalf("SendSync #%d: status %v, want SendOK; result %v", i, res.Status, res)
		}
		if res.MsgID == "" {
			t.Fatalf("SendSync #%d: empty MsgID; result %v", i, res)
		}
		if res.OffsetMsgID == "" {
			t.Fatalf("SendSync #%d: empty OffsetMsgID; result %v", i, res)
		}
		if res.MessageQueue == nil || res.MessageQueue.Topic != topic {
			t.Fatalf("SendSync #%d: result queue %v, want topic %s", i, res.MessageQueue, topic)
		}
		if tag == "TagC" {
			tagC[body] = true
		} else {
			expected[body] = sent{tag: tag, key: key, msgID: res.MsgID}
		}
	}

	var mu sync.Mutex
	got := map[string]*primitive.MessageExt{}
	var wrong []string // TagC deliveries or unknown bodies
	c := newPushConsumer(t, b.Namesrv, unique("go_interop_cg"))
	err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "TagA || TagB"},
		func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range msgs {
				body := string(m.Body)
				if m.GetTags() == "TagC" || tagC[body] {
					wrong = append(wrong, fmt.Sprintf("%s(tag=%s)", body, m.GetTags()))
				}
				got[body] = m
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	startConsumer(t, c)

	await(t, 60*time.Second, "every TagA/TagB message", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		var missing []string
		for body := range expected {
			if got[body] == nil {
				missing = append(missing, body)
			}
		}
		sort.Strings(missing)
		return len(missing) == 0, fmt.Sprintf("received %d, missing %v", len(got), missing)
	})

	mu.Lock()
	defer mu.Unlock()
	if len(wrong) > 0 {
		t.Errorf("TagC must not be delivered to a \"TagA || TagB\" subscription; got %v", wrong)
	}
	for body, want := range expected {
		m := got[body]
		if m.Topic != topic {
			t.Errorf("%s: topic %q, want %q", body, m.Topic, topic)
		}
		if m.GetTags() != want.tag {
			t.Errorf("%s: tag %q, want %q", body, m.GetTags(), want.tag)
		}
		if m.GetKeys() != want.key {
			t.Errorf("%s: keys %q, want %q", body, m.GetKeys(), want.key)
		}
		if v := m.GetProperty(userPropKey); v != userPropValue {
			t.Errorf("%s: user property %s=%q, want %q (properties %v)", body, userPropKey, v, userPropValue, m.GetProperties())
		}
		if m.MsgId != want.msgID {
			t.Errorf("%s: consumed MsgId %q, want the producer's %q", body, m.MsgId, want.msgID)
		}
	}
	for body := range got {
		if _, ok := expected[body]; !ok && !tagC[body] {
			t.Errorf("unexpected message %q", body)
		}
	}
}

func TestOrderedConsumption(t *testing.T) {
	b := startBasalt(t)
	topic := unique("GoInteropOrder")
	p := newProducer(t, b.Namesrv, producer.WithQueueSelector(producer.NewHashQueueSelector()))

	const orders, perOrder = 8, 12
	orderID := func(o int) string { return fmt.Sprintf("order-%d", o) }
	queueOf := map[string]int{} // order id -> queue id its messages were stored in
	// Interleave orders so that each queue holds several orders' messages mixed together.
	for seq := 0; seq < perOrder; seq++ {
		for o := 0; o < orders; o++ {
			id := orderID(o)
			msg := primitive.NewMessage(topic, []byte(fmt.Sprintf("%s:%d", id, seq)))
			msg.WithTag("Order")
			msg.WithKeys([]string{fmt.Sprintf("%s-%d", id, seq)})
			msg.WithShardingKey(id)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			res, err := p.SendSync(ctx, msg)
			cancel()
			if err != nil {
				t.Fatalf("SendSync %s seq %d: %v", id, seq, err)
			}
			if res.Status != primitive.SendOK || res.MsgID == "" {
				t.Fatalf("SendSync %s seq %d: status %v msgId %q, want SendOK and a MsgID", id, seq, res.Status, res.MsgID)
			}
			if q, ok := queueOf[id]; !ok {
				queueOf[id] = res.MessageQueue.QueueId
			} else if q != res.MessageQueue.QueueId {
				t.Fatalf("%s seq %d went to queue %d, earlier ones to %d: the hash selector must pin an order to one queue",
					id, seq, res.MessageQueue.QueueId, q)
			}
		}
	}
	t.Logf("order -> queue: %v", queueOf)

	var mu sync.Mutex
	seen := map[string][]int{} // order id -> sequence numbers in consumption order
	var problems []string
	c := newPushConsumer(t, b.Namesrv, unique("go_interop_order_cg"), consumer.WithConsumerOrder(true))
	err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"},
		func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range msgs {
				var id string
				var seq int
				parts := strings.SplitN(string(m.Body), ":", 2)
				if len(parts) != 2 {
					problems = append(problems, fmt.Sprintf("malformed body %q", m.Body))
					continue
				}
				id = parts[0]
				if _, err := fmt.Sscanf(parts[1], "%d", &seq); err != nil {
					problems = append(problems, fmt.Sprintf("malformed body %q", m.Body))
					continue
				}
				if m.GetShardingKey() != id {
					problems = append(problems, fmt.Sprintf("%s: sharding key %q", m.Body, m.GetShardingKey()))
				}
				if m.Queue != nil && m.Queue.QueueId != queueOf[id] {
					problems = append(problems, fmt.Sprintf("%s: consumed from queue %d, sent to %d", m.Body, m.Queue.QueueId, queueOf[id]))
				}
				seen[id] = append(seen[id], seq)
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	startConsumer(t, c)

	await(t, 60*time.Second, "every order's messages", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		total := 0
		for o := 0; o < orders; o++ {
			total += len(seen[orderID(o)])
		}
		return total >= orders*perOrder, fmt.Sprintf("received %d of %d: %v", total, orders*perOrder, seen)
	})

	mu.Lock()
	defer mu.Unlock()
	for _, pr := range problems {
		t.Error(pr)
	}
	for o := 0; o < orders; o++ {
		id := orderID(o)
		want := make([]int, perOrder)
		for i := range want {
			want[i] = i
		}
		if fmt.Sprint(seen[id]) != fmt.Sprint(want) {
			t.Errorf("%s consumed in order %v, want send order %v", id, seen[id], want)
		}
	}
}

// sendOne sends msg synchronously with a deadline and fails the test unless the broker answers SendOK.
func sendOne(t *testing.T, p rocketmq.Producer, msg *primitive.Message, what string) *primitive.SendResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := p.SendSync(ctx, msg)
	if err != nil {
		t.Fatalf("SendSync %s (topic %s): %v", what, msg.Topic, err)
	}
	if res.Status != primitive.SendOK || res.MsgID == "" {
		t.Fatalf("SendSync %s: status %v msgId %q, want SendOK and a MsgID; result %v", what, res.Status, res.MsgID, res)
	}
	return res
}

// arrivals records, per body, when the push consumer first saw a message and how often.
type arrivals struct {
	mu    sync.Mutex
	first map[string]time.Time
	msg   map[string]*primitive.MessageExt
	count map[string]int
}

func newArrivals() *arrivals {
	return &arrivals{first: map[string]time.Time{}, msg: map[string]*primitive.MessageExt{}, count: map[string]int{}}
}

func (a *arrivals) consume(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range msgs {
		body := string(m.Body)
		if _, ok := a.first[body]; !ok {
			a.first[body] = now
			a.msg[body] = m
		}
		a.count[body]++
	}
	return consumer.ConsumeSuccess, nil
}

func (a *arrivals) get(body string) (time.Time, *primitive.MessageExt, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	at, ok := a.first[body]
	return at, a.msg[body], ok
}

func (a *arrivals) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return fmt.Sprintf("deliveries per body %v", a.count)
}

// startArrivalConsumer subscribes a fresh group to every tag of topic, consuming from the first
// offset, and waits (with a deadline) until warmBody has been delivered, i.e. the consumer owns the
// topic's queues. The push consumer refuses to start for a topic without a route, so the caller
// sends warmBody (which auto-creates the topic) before calling this.
func startArrivalConsumer(t *testing.T, namesrv, topic, warmBody string) *arrivals {
	t.Helper()
	a := newArrivals()
	c := newPushConsumer(t, namesrv, unique("go_interop_cg"))
	if err := c.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, a.consume); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	startConsumer(t, c)
	await(t, 60*time.Second, "the warm-up message", func() (bool, string) {
		_, _, ok := a.get(warmBody)
		return ok, a.String()
	})
	return a
}

func TestDelayLevelMessage(t *testing.T) {
	b := startBasalt(t)
	topic := unique("GoInteropDelay")
	p := newProducer(t, b.Namesrv)

	const warmBody = "delay-warm-up"
	sendOne(t, p, primitive.NewMessage(topic, []byte(warmBody)), "warm-up")
	a := startArrivalConsumer(t, b.Namesrv, topic, warmBody)

	// Level 2 of the default messageDelayLevel "1s 5s 10s 30s 1m ..." is 5 s.
	const delay, slack = 5 * time.Second, 3 * time.Second
	const body = "delayed-level-2"
	msg := primitive.NewMessage(topic, []byte(body))
	msg.WithTag("Delay")
	msg.WithKeys([]string{"delay-key"})
	msg.WithProperty(userPropKey, userPropValue)
	msg.WithDelayTimeLevel(2)
	sendStart := time.Now()
	res := sendOne(t, p, msg, "delay level 2")
	sendEnd := time.Now()

	await(t, delay+slack+10*time.Second, "the delayed message", func() (bool, string) {
		_, _, ok := a.get(body)
		return ok, fmt.Sprintf("%s after %s", a, time.Since(sendStart).Round(time.Millisecond))
	})
	at, m, _ := a.get(body)
	elapsed := at.Sub(sendStart)
	t.Logf("delayed message arrived %s after the send started (send took %s)",
		elapsed.Round(time.Millisecond), sendEnd.Sub(sendStart).Round(time.Millisecond))
	// The broker stores the message somewhere in [sendStart, sendEnd] and must hold it for 5 s.
	if at.Before(sendStart.Add(delay)) {
		t.Errorf("delay level 2 message arrived %s after the send, earlier than %s", elapsed.Round(time.Millisecond), delay)
	}
	if at.After(sendEnd.Add(delay + slack)) {
		t.Errorf("delay level 2 message arrived %s after the send completed, later than %s + %s",
			at.Sub(sendEnd).Round(time.Millisecond), delay, slack)
	}
	if m.Topic != topic {
		t.Errorf("delayed message consumed from topic %q, want %q (properties %v)", m.Topic, topic, m.GetProperties())
	}
	if m.GetTags() != "Delay" || m.GetKeys() != "delay-key" || m.GetProperty(userPropKey) != userPropValue {
		t.Errorf("delayed message lost tag/keys/user property: tag %q keys %q properties %v", m.GetTags(), m.GetKeys(), m.GetProperties())
	}
	if m.MsgId != res.MsgID {
		t.Errorf("delayed message consumed MsgId %q, want the producer's %q", m.MsgId, res.MsgID)
	}
}

// txListener answers ExecuteLocalTransaction from a fixed body -> state table and commits every
// transaction the broker asks about, recording each check.
type txListener struct {
	local map[string]primitive.LocalTransactionState // read-only after construction

	mu       sync.Mutex
	executed map[string]int
	checked  map[string][]time.Time
}

func (l *txListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	body := string(m.Body)
	l.mu.Lock()
	l.executed[body]++
	l.mu.Unlock()
	if st, ok := l.local[body]; ok {
		return st
	}
	return primitive.RollbackMessageState
}

func (l *txListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	l.mu.Lock()
	l.checked[string(m.Body)] = append(l.checked[string(m.Body)], time.Now())
	l.mu.Unlock()
	return primitive.CommitMessageState
}

func (l *txListener) checks(body string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.checked[body])
}

func (l *txListener) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	counts := map[string]int{}
	for body, ts := range l.checked {
		counts[body] = len(ts)
	}
	return fmt.Sprintf("executed %v, checked %v", l.executed, counts)
}

func newTransactionProducer(t *testing.T, namesrv string, listener primitive.TransactionListener) rocketmq.TransactionProducer {
	t.Helper()
	p, err := rocketmq.NewTransactionProducer(listener,
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{namesrv})),
		producer.WithGroupName(unique("go_interop_txpg")),
		producer.WithInstanceName(unique("go_txp")),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(10*time.Second),
	)
	if err != nil {
		t.Fatalf("NewTransactionProducer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("transaction producer Start: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Shutdown(); err != nil {
			t.Errorf("transaction producer Shutdown: %v", err)
		}
	})
	return p
}

func TestTransactionCheckBack(t *testing.T) {
	// Check unresolved half messages every second once they are 2 s old (defaults: 30 s / 6 s).
	conf := filepath.Join(t.TempDir(), "broker.conf")
	if err := os.WriteFile(conf, []byte("transactionCheckInterval=1000\ntransactionTimeOut=2000\n"), 0o644); err != nil {
		t.Fatalf("writing %s: %v", conf, err)
	}
	b := startBasalt(t, "-c", conf)
	topic := unique("GoInteropTx")

	const warmBody = "tx-warm-up"
	sendOne(t, newProducer(t, b.Namesrv), primitive.NewMessage(topic, []byte(warmBody)), "warm-up")
	a := startArrivalConsumer(t, b.Namesrv, topic, warmBody)

	const unknownBody, rollbackBody = "tx-unknown-then-checked", "tx-rolled-back"
	listener := &txListener{
		local: map[string]primitive.LocalTransactionState{
			unknownBody:  primitive.UnkonwnState, // sic: the Go client's spelling
			rollbackBody: primitive.RollbackMessageState,
		},
		executed: map[string]int{},
		checked:  map[string][]time.Time{},
	}
	tp := newTransactionProducer(t, b.Namesrv, listener)

	sentAt := map[string]time.Time{}
	for _, body := range []string{unknownBody, rollbackBody} {
		msg := primitive.NewMessage(topic, []byte(body))
		msg.WithTag("Tx")
		msg.WithKeys([]string{body + "-key"})
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		sentAt[body] = time.Now()
		res, err := tp.SendMessageInTransaction(ctx, msg)
		cancel()
		if err != nil {
			t.Fatalf("SendMessageInTransaction %s: %v", body, err)
		}
		if res.Status != primitive.SendOK || res.State != listener.local[body] {
			t.Fatalf("SendMessageInTransaction %s: status %v state %v, want SendOK and state %v; result %v",
				body, res.Status, res.State, listener.local[body], res.SendResult)
		}
		t.Logf("half message %s: msgId %s offsetMsgId %s queue %v transactionId %q",
			body, res.MsgID, res.OffsetMsgID, res.MessageQueue, res.TransactionID)
	}

	// transactionTimeOut (2 s) + a few check intervals (1 s), generously bounded.
	await(t, 30*time.Second, "the UNKNOWN transaction to be checked back and committed", func() (bool, string) {
		_, _, ok := a.get(unknownBody)
		return ok, fmt.Sprintf("%s; %s", a, listener)
	})
	committedAt, m, _ := a.get(unknownBody)
	t.Logf("UNKNOWN transaction delivered %s after its half message was sent; %s",
		committedAt.Sub(sentAt[unknownBody]).Round(time.Millisecond), listener)
	if listener.checks(unknownBody) == 0 {
		t.Errorf("UNKNOWN transaction was delivered without CheckLocalTransaction being called; %s", listener)
	}
	if m.Topic != topic || m.GetTags() != "Tx" || m.GetKeys() != unknownBody+"-key" {
		t.Errorf("committed message: topic %q tag %q keys %q, want %q/Tx/%s-key (properties %v)",
			m.Topic, m.GetTags(), m.GetKeys(), topic, unknownBody, m.GetProperties())
	}

	// Bounded "never arrives" window: the rolled-back message must still be absent 3 s after the
	// committed one (sent just before it) was delivered. This is the only deliberate sleep.
	time.Sleep(time.Until(committedAt.Add(3 * time.Second)))
	if at, _, ok := a.get(rollbackBody); ok {
		t.Errorf("rolled-back transaction was delivered %s after its half message was sent; %s; %s",
			at.Sub(sentAt[rollbackBody]).Round(time.Millisecond), a, listener)
	}
	if n := listener.checks(rollbackBody); n > 0 {
		t.Errorf("broker checked back the already rolled-back transaction %d time(s); %s", n, listener)
	}
	a.mu.Lock()
	if n := a.count[unknownBody]; n != 1 {
		t.Errorf("committed transaction delivered %d times, want 1", n)
	}
	a.mu.Unlock()
}
