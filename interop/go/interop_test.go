// Package interop drives Basalt (name server + broker) with the official Apache RocketMQ Go client,
// github.com/apache/rocketmq-client-go/v2.
//
// Run: BASALT_BIN=/path/to/basalt go test -count=1 -timeout 300s -v ./...
package interop

import (
	"context"
	"fmt"
	"os"
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
