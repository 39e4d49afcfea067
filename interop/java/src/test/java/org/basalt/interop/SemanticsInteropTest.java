package org.basalt.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.remoting.protocol.heartbeat.MessageModel;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Delay levels, retries and the dead-letter queue, with the Java client. */
class SemanticsInteropTest {

    private static DefaultMQProducer producer(String namesrv) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer("sem_pg_" + System.nanoTime());
        p.setNamesrvAddr(namesrv);
        p.setInstanceName("p-" + UUID.randomUUID());
        p.start();
        return p;
    }

    private static DefaultMQPushConsumer consumer(String namesrv, String group, String topic,
        MessageListenerConcurrently l) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("c-" + UUID.randomUUID());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        c.registerMessageListener(l);
        return c;
    }

    @Test
    void delayLevelThreeArrivesAfterTenSecondsEvenAcrossARestart(@TempDir Path dir) throws Exception {
        String topic = "DelayT_" + System.nanoTime();
        String group = "delay_g_" + System.nanoTime();
        BasaltProcess b = BasaltProcess.startIn(dir);
        DefaultMQProducer p = producer(b.addr("namesrv"));
        // The consumer is running before the sends, so arrival times are
        // delivery times, not catch-up times.
        Map<String, Long> arrived = new ConcurrentHashMap<>();
        Map<String, Integer> count = new ConcurrentHashMap<>();
        MessageListenerConcurrently listener = (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                arrived.putIfAbsent(body, System.currentTimeMillis());
                count.merge(body, 1, Integer::sum);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
        DefaultMQPushConsumer c = consumer(b.addr("namesrv"), group, topic, listener);
        try {
            try {
                // The topic must exist before the consumer can subscribe to its queues.
                assertEquals(SendStatus.SEND_OK,
                    p.send(new Message(topic, "warmup".getBytes(StandardCharsets.UTF_8))).getSendStatus());
                c.start();
                ProducerConsumerInteropTest.settle(c, topic, b.addr("broker"));
                ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> arrived.containsKey("warmup"),
                    "warm-up message");

                Message delayed = new Message(topic, "delayed".getBytes(StandardCharsets.UTF_8));
                delayed.setDelayTimeLevel(3);
                long sentAt = System.currentTimeMillis();
                assertEquals(SendStatus.SEND_OK, p.send(delayed).getSendStatus());
                ProducerConsumerInteropTest.await(Duration.ofSeconds(20), () -> arrived.containsKey("delayed"),
                    "delayed message");
                long took = arrived.get("delayed") - sentAt;
                assertTrue(took >= 10_000, "delivered early, after " + took + " ms");
                assertTrue(took <= 11_500, "delivered late, after " + took + " ms");
            } finally {
                c.shutdown();
            }

            // Across a restart: send, stop the broker before it is due, start
            // again; it arrives once.
            Message acrossRestart = new Message(topic, "across-restart".getBytes(StandardCharsets.UTF_8));
            acrossRestart.setDelayTimeLevel(3);
            assertEquals(SendStatus.SEND_OK, p.send(acrossRestart).getSendStatus());
        } finally {
            p.shutdown();
            b.close();
        }
        BasaltProcess again = BasaltProcess.startIn(dir);
        try {
            DefaultMQPushConsumer c2 = consumer(again.addr("namesrv"), group, topic, listener);
            c2.start();
            try {
                ProducerConsumerInteropTest.settle(c2, topic, again.addr("broker"));
                ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> arrived.containsKey("across-restart"),
                    "delayed message after restart");
                // Give a duplicate the chance to show up: wait for a later
                // plain message sent after the due time.
                DefaultMQProducer p2 = producer(again.addr("namesrv"));
                p2.send(new Message(topic, "after".getBytes(StandardCharsets.UTF_8)));
                p2.shutdown();
                ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> arrived.containsKey("after"), "later message");
            } finally {
                c2.shutdown();
            }
        } finally {
            again.close();
        }
        assertEquals(1, count.get("across-restart"), "delivered exactly once: " + count);
        assertEquals(1, count.get("delayed"));
    }

    @Test
    void reconsumeLaterRetriesOnceThenLandsInTheDlq() throws Exception {
        BasaltProcess b = BasaltProcess.start();
        try {
            String namesrv = b.addr("namesrv");
            String topic = "RetryT_" + System.nanoTime();
            String group = "retry_g_" + System.nanoTime();
            DefaultMQProducer p = producer(namesrv);
            assertEquals(SendStatus.SEND_OK, p.send(new Message(topic, "T", "retry-key", "boom".getBytes(StandardCharsets.UTF_8))).getSendStatus());
            List<Integer> attempts = new CopyOnWriteArrayList<>();
            DefaultMQPushConsumer c = consumer(namesrv, group, topic, (msgs, ctx) -> {
                msgs.forEach(m -> attempts.add(m.getReconsumeTimes()));
                return ConsumeConcurrentlyStatus.RECONSUME_LATER;
            });
            c.setMaxReconsumeTimes(1);
            // %RETRY%<group> is created by the group's first heartbeat, after
            // the client's first route fetch; poll routes often so the retry
            // queue is picked up in seconds, not after the default 30 s.
            c.setPollNameServerInterval(1000);
            c.start();
            DefaultMQAdminExt admin = new DefaultMQAdminExt(5000);
            admin.setNamesrvAddr(namesrv);
            admin.setInstanceName("a-" + UUID.randomUUID());
            admin.start();
            try {
                ProducerConsumerInteropTest.await(Duration.ofSeconds(40), () -> attempts.size() >= 2, "one redelivery");
                assertEquals(List.of(0, 1), attempts.subList(0, 2));
                String dlq = "%DLQ%" + group;
                ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> {
                    try {
                        long now = System.currentTimeMillis();
                        return admin.queryMessage(dlq, "retry-key", 32, now - 600_000, now + 600_000)
                            .getMessageList().size() == 1;
                    } catch (Exception e) {
                        return false;
                    }
                }, "message in " + dlq);
                assertEquals(2, attempts.size(), "no further deliveries after the DLQ: " + attempts);
            } finally {
                c.shutdown();
                p.shutdown();
                admin.shutdown();
            }
        } finally {
            b.close();
        }
    }

    @Test
    void sql92FilterDeliversOnlyMatchingMessagesAndBadSqlIsRefused() throws Exception {
        BasaltProcess b = BasaltProcess.start();
        try {
            String namesrv = b.addr("namesrv");
            String topic = "SqlT_" + System.nanoTime();
            DefaultMQProducer p = producer(namesrv);
            String[][] cases = {{"9", "x"}, {"3", "x"}, {"7", "y"}, {"6", "x"}, {null, "x"}, {"100", "x"}};
            for (int i = 0; i < cases.length; i++) {
                Message m = new Message(topic, "T", ("sql-" + i).getBytes(StandardCharsets.UTF_8));
                if (cases[i][0] != null) {
                    m.putUserProperty("a", cases[i][0]);
                }
                m.putUserProperty("b", cases[i][1]);
                assertEquals(SendStatus.SEND_OK, p.send(m).getSendStatus());
            }
            p.shutdown();
            Map<String, Integer> got = new ConcurrentHashMap<>();
            DefaultMQPushConsumer c = new DefaultMQPushConsumer("sql_g_" + System.nanoTime());
            c.setNamesrvAddr(namesrv);
            c.setInstanceName("c-" + UUID.randomUUID());
            c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            c.subscribe(topic, MessageSelector.bySql("a > 5 AND b = 'x'"));
            c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                msgs.forEach(m -> got.merge(new String(m.getBody(), StandardCharsets.UTF_8), 1, Integer::sum));
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            c.start();
            try {
                ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> got.size() >= 3, "3 matching messages");
            } finally {
                c.shutdown();
            }
            assertEquals(Set.of("sql-0", "sql-3", "sql-5"), got.keySet());

            DefaultMQPushConsumer bad = new DefaultMQPushConsumer("sql_bad_" + System.nanoTime());
            bad.setNamesrvAddr(namesrv);
            bad.setInstanceName("c-" + UUID.randomUUID());
            bad.subscribe(topic, MessageSelector.bySql("a > AND ("));
            bad.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> ConsumeConcurrentlyStatus.CONSUME_SUCCESS);
            MQClientException e = assertThrows(MQClientException.class, bad::start);
            // SUBSCRIPTION_PARSE_FAILED, with the parser's position in the remark.
            assertTrue(String.valueOf(e.getMessage()).contains("CODE: 23"), e.getMessage());
            assertTrue(e.getMessage().contains("offset 4"), e.getMessage());
            bad.shutdown();
        } finally {
            b.close();
        }
    }

    @Test
    void twoBroadcastConsumersEachReceiveEveryMessage() throws Exception {
        BasaltProcess b = BasaltProcess.start();
        try {
            String namesrv = b.addr("namesrv");
            String topic = "BcastT_" + System.nanoTime();
            String group = "bcast_g_" + System.nanoTime();
            DefaultMQProducer p = producer(namesrv);
            p.send(new Message(topic, "warm".getBytes(StandardCharsets.UTF_8)));
            Map<String, Set<String>> got = new ConcurrentHashMap<>();
            DefaultMQPushConsumer[] cs = new DefaultMQPushConsumer[2];
            for (int i = 0; i < 2; i++) {
                String name = "c" + i;
                cs[i] = consumer(namesrv, group, topic, (msgs, ctx) -> {
                    msgs.forEach(m -> got.computeIfAbsent(name, k -> ConcurrentHashMap.newKeySet())
                        .add(new String(m.getBody(), StandardCharsets.UTF_8)));
                    return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                });
                cs[i].setMessageModel(MessageModel.BROADCASTING);
                cs[i].start();
            }
            try {
                for (int i = 0; i < 10; i++) {
                    p.send(new Message(topic, ("b-" + i).getBytes(StandardCharsets.UTF_8)));
                }
                ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> got.size() == 2
                    && got.values().stream().allMatch(s -> s.stream().filter(x -> x.startsWith("b-")).count() == 10),
                    "both consumers get all 10");
            } finally {
                cs[0].shutdown();
                cs[1].shutdown();
                p.shutdown();
            }
        } finally {
            b.close();
        }
    }

    @Test
    void timerMessageArrivesBetweenThreeAndFourSecondsAndOnceAcrossARestart(@TempDir Path dir) throws Exception {
        String topic = "TimerT_" + System.nanoTime();
        String group = "timer_g_" + System.nanoTime();
        Map<String, Long> arrived = new ConcurrentHashMap<>();
        Map<String, Integer> count = new ConcurrentHashMap<>();
        MessageListenerConcurrently listener = (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                arrived.putIfAbsent(body, System.currentTimeMillis());
                count.merge(body, 1, Integer::sum);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
        BasaltProcess b = BasaltProcess.startIn(dir);
        DefaultMQProducer p = producer(b.addr("namesrv"));
        assertEquals(SendStatus.SEND_OK, p.send(new Message(topic, "warmup".getBytes(StandardCharsets.UTF_8))).getSendStatus());
        DefaultMQPushConsumer c = consumer(b.addr("namesrv"), group, topic, listener);
        c.start();
        ProducerConsumerInteropTest.settle(c, topic, b.addr("broker"));
        ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> arrived.containsKey("warmup"), "warm-up message");

        Message timed = new Message(topic, "timed".getBytes(StandardCharsets.UTF_8));
        long sentAt = System.currentTimeMillis();
        timed.setDeliverTimeMs(sentAt + 3000);
        assertEquals(SendStatus.SEND_OK, p.send(timed).getSendStatus());
        ProducerConsumerInteropTest.await(Duration.ofSeconds(20), () -> arrived.containsKey("timed"), "timer message");
        long took = arrived.get("timed") - sentAt;
        assertTrue(took >= 3000 && took <= 4000, "timer message after " + took + " ms");
        c.shutdown();

        Message later = new Message(topic, "timer-across-restart".getBytes(StandardCharsets.UTF_8));
        later.setDelayTimeSec(4);
        assertEquals(SendStatus.SEND_OK, p.send(later).getSendStatus());
        Message tooFar = new Message(topic, "too-far".getBytes(StandardCharsets.UTF_8));
        tooFar.setDelayTimeSec(4 * 86_400);
        assertThrows(Exception.class, () -> p.send(tooFar), "beyond timerMaxDelaySec");
        p.shutdown();
        b.close();
        BasaltProcess again = BasaltProcess.startIn(dir);
        try {
            DefaultMQPushConsumer c2 = consumer(again.addr("namesrv"), group, topic, listener);
            c2.start();
            try {
                ProducerConsumerInteropTest.settle(c2, topic, again.addr("broker"));
                ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> arrived.containsKey("timer-across-restart"),
                    "timer message after restart");
                DefaultMQProducer p2 = producer(again.addr("namesrv"));
                p2.send(new Message(topic, "after-timer".getBytes(StandardCharsets.UTF_8)));
                p2.shutdown();
                ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> arrived.containsKey("after-timer"), "later message");
            } finally {
                c2.shutdown();
            }
        } finally {
            again.close();
        }
        assertEquals(1, count.get("timer-across-restart"), "delivered exactly once: " + count);
        assertEquals(1, count.get("timed"));
    }

    /**
     * A timer message recalled with the handle its send result carries
     * (DefaultMQProducer.recallMessage, RocketMQ 5.3.2+) is never
     * delivered; the others are. With recall off, the broker refuses.
     */
    @Test
    void aRecalledTimerMessageIsNotDelivered(@TempDir Path dir) throws Exception {
        String topic = "RecallT_" + System.nanoTime();
        String group = "recall_g_" + System.nanoTime();
        Map<String, Integer> count = new ConcurrentHashMap<>();
        MessageListenerConcurrently listener = (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                count.merge(new String(m.getBody(), StandardCharsets.UTF_8), 1, Integer::sum);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
        BasaltProcess b = BasaltProcess.startWithConf(dir, "recallMessageEnable=true\n");
        DefaultMQProducer p = producer(b.addr("namesrv"));
        DefaultMQPushConsumer c = consumer(b.addr("namesrv"), group, topic, listener);
        try {
            assertEquals(SendStatus.SEND_OK,
                p.send(new Message(topic, "warmup".getBytes(StandardCharsets.UTF_8))).getSendStatus());
            c.start();
            ProducerConsumerInteropTest.settle(c, topic, b.addr("broker"));
            ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> count.containsKey("warmup"),
                "warm-up message");

            long at = System.currentTimeMillis() + 3000;
            Message kept = new Message(topic, "kept".getBytes(StandardCharsets.UTF_8));
            kept.setDeliverTimeMs(at);
            Message gone = new Message(topic, "recalled".getBytes(StandardCharsets.UTF_8));
            gone.setDeliverTimeMs(at);
            Message last = new Message(topic, "last".getBytes(StandardCharsets.UTF_8));
            last.setDeliverTimeMs(at + 1000);
            assertTrue(p.send(kept).getRecallHandle() != null, "a timer message's send result has a handle");
            org.apache.rocketmq.client.producer.SendResult sent = p.send(gone);
            p.send(last);
            assertEquals(sent.getMsgId(), p.recallMessage(topic, sent.getRecallHandle()));

            ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> count.containsKey("last"),
                "the timer message due last");
            assertEquals(1, count.get("kept"), "delivered: " + count);
            assertTrue(!count.containsKey("recalled"), "recalled yet delivered: " + count);
        } finally {
            c.shutdown();
            p.shutdown();
            b.close();
        }

        BasaltProcess off = BasaltProcess.start();
        DefaultMQProducer p2 = producer(off.addr("namesrv"));
        try {
            Message timed = new Message(topic, "x".getBytes(StandardCharsets.UTF_8));
            timed.setDelayTimeSec(60);
            String handle = p2.send(timed).getRecallHandle();
            org.apache.rocketmq.client.exception.MQBrokerException refused = assertThrows(
                org.apache.rocketmq.client.exception.MQBrokerException.class,
                () -> p2.recallMessage(topic, handle));
            assertEquals(16, refused.getResponseCode(), "NO_PERMISSION while recall is off");
        } finally {
            p2.shutdown();
            off.close();
        }
    }
}
