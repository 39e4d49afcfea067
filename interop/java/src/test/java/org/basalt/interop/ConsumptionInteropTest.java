package org.basalt.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Rebalancing, ordered consumption, lite pull and admin topic creation against Basalt. */
class ConsumptionInteropTest {
    private static BasaltProcess basalt;
    private static String namesrv;
    private static DefaultMQProducer producer;
    private static DefaultMQAdminExt admin;

    @BeforeAll
    static void start() throws Exception {
        basalt = BasaltProcess.start();
        namesrv = basalt.addr("namesrv");
        producer = new DefaultMQProducer("interop_pg2");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("p-" + UUID.randomUUID());
        producer.start();
        admin = new DefaultMQAdminExt(5000);
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("a-" + UUID.randomUUID());
        admin.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (producer != null) {
            producer.shutdown();
        }
        if (admin != null) {
            admin.shutdown();
        }
        if (basalt != null) {
            basalt.close();
        }
    }

    private static String createTopic(String prefix, int queues) throws Exception {
        String topic = prefix + "_" + System.nanoTime();
        String brokerAddr = basalt.addr("broker");
        org.apache.rocketmq.common.TopicConfig tc = new org.apache.rocketmq.common.TopicConfig(topic, queues, queues, 6);
        admin.createAndUpdateTopicConfig(brokerAddr, tc);
        ProducerConsumerInteropTest.await(Duration.ofSeconds(20), () -> {
            try {
                TopicRouteData r = admin.examineTopicRouteInfo(topic);
                return r.getQueueDatas().get(0).getWriteQueueNums() == queues;
            } catch (Exception e) {
                return false;
            }
        }, "route of " + topic);
        return topic;
    }

    /** A push consumer that counts each body it gets in `seen`. */
    private static DefaultMQPushConsumer counting(String group, String topic, Map<String, Integer> seen)
        throws Exception {
        return pushConsumer(group, topic, (msgs, ctx) -> {
            msgs.forEach(m -> seen.merge(new String(m.getBody(), StandardCharsets.UTF_8), 1, Integer::sum));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
    }

    private static void sendAll(String topic, String prefix, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            producer.send(new Message(topic, "T", (prefix + i).getBytes(StandardCharsets.UTF_8)));
        }
    }

    private static DefaultMQPushConsumer pushConsumer(String group, String topic, MessageListenerConcurrently l)
        throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("c-" + UUID.randomUUID());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPersistConsumerOffsetInterval(200);
        c.subscribe(topic, "*");
        c.registerMessageListener(l);
        return c;
    }

    @Test
    void twoConsumersSplitQueuesAndOneTakesOverWhenTheOtherLeaves() throws Exception {
        String topic = createTopic("InteropSplit", 4);
        String group = "interop_split_" + System.nanoTime();
        Map<String, Set<Integer>> queuesBy = new ConcurrentHashMap<>();
        Map<String, Integer> seen = new ConcurrentHashMap<>();
        MessageListenerConcurrently l1 = (msgs, ctx) -> {
            msgs.forEach(m -> {
                queuesBy.computeIfAbsent("c1", k -> ConcurrentHashMap.newKeySet()).add(m.getQueueId());
                seen.merge(new String(m.getBody(), StandardCharsets.UTF_8), 1, Integer::sum);
            });
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
        MessageListenerConcurrently l2 = (msgs, ctx) -> {
            msgs.forEach(m -> {
                queuesBy.computeIfAbsent("c2", k -> ConcurrentHashMap.newKeySet()).add(m.getQueueId());
                seen.merge(new String(m.getBody(), StandardCharsets.UTF_8), 1, Integer::sum);
            });
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
        DefaultMQPushConsumer c1 = pushConsumer(group, topic, l1);
        DefaultMQPushConsumer c2 = pushConsumer(group, topic, l2);
        c1.start();
        c2.start();
        try {
            // Both members must be visible before we judge the split.
            ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> {
                try {
                    return admin.examineConsumerConnectionInfo(group).getConnectionSet().size() == 2;
                } catch (Exception e) {
                    return false;
                }
            }, "two consumers online");
            ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> {
                Set<MessageQueue> a = allocated(c1, topic);
                Set<MessageQueue> b = allocated(c2, topic);
                return a.size() == 2 && b.size() == 2;
            }, "2+2 allocation");
            for (int i = 0; i < 40; i++) {
                Message m = new Message(topic, "T", ("split-" + i).getBytes(StandardCharsets.UTF_8));
                assertEquals(SendStatus.SEND_OK, producer.send(m, new ArrayList<>(producer.fetchPublishMessageQueues(topic)).get(i % 4)).getSendStatus());
            }
            ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> seen.size() == 40, "40 messages");
            assertTrue(queuesBy.get("c1").size() >= 1 && queuesBy.get("c2").size() >= 1, queuesBy.toString());
            assertTrue(seen.values().stream().allMatch(n -> n == 1), "no duplicates: " + seen);

            c2.shutdown();
            ProducerConsumerInteropTest.await(Duration.ofSeconds(40), () -> allocated(c1, topic).size() == 4,
                "c1 takes all 4 queues");
            for (int i = 40; i < 60; i++) {
                Message m = new Message(topic, "T", ("split-" + i).getBytes(StandardCharsets.UTF_8));
                producer.send(m, new ArrayList<>(producer.fetchPublishMessageQueues(topic)).get(i % 4));
            }
            ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> seen.size() == 60, "60 messages");
        } finally {
            c1.shutdown();
            c2.shutdown();
        }
    }

    private static Set<MessageQueue> allocated(DefaultMQPushConsumer c, String topic) {
        Set<MessageQueue> out = ConcurrentHashMap.newKeySet();
        c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().forEach((mq, pq) -> {
            if (mq.getTopic().equals(topic) && !pq.isDropped()) {
                out.add(mq);
            }
        });
        return out;
    }

    /** Request-reply: DefaultMQProducer.request answered by a consumer through MessageUtil.createReplyMessage. */
    @Test
    void requestIsAnsweredThroughTheReplyTopic() throws Exception {
        String topic = createTopic("InteropRequest", 2);
        String group = "interop_request_" + System.nanoTime();
        DefaultMQProducer replier = new DefaultMQProducer("interop_replier_" + System.nanoTime());
        replier.setNamesrvAddr(namesrv);
        replier.setInstanceName("r-" + UUID.randomUUID());
        replier.start();
        DefaultMQPushConsumer responder = pushConsumer(group, topic, (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                byte[] body = ("re:" + new String(m.getBody(), StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
                try {
                    replier.send(org.apache.rocketmq.client.utils.MessageUtil.createReplyMessage(m, body));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        responder.start();
        try {
            Message answer = producer.request(new Message(topic, "ping".getBytes(StandardCharsets.UTF_8)), 30_000);
            assertEquals("re:ping", new String(answer.getBody(), StandardCharsets.UTF_8));
        } finally {
            responder.shutdown();
            replier.shutdown();
        }
    }

    /**
     * mqadmin consumerStatus and the console's "consume directly": the broker
     * passes GET_CONSUMER_RUNNING_INFO and CONSUME_MESSAGE_DIRECTLY on to the
     * consumer and answers with what it says.
     */
    @Test
    void runningInfoAndConsumeDirectlyReachTheConsumer() throws Exception {
        String topic = createTopic("InteropRunning", 2);
        String group = "interop_running_" + System.nanoTime();
        org.apache.rocketmq.client.producer.SendResult sent =
            producer.send(new Message(topic, "T", "direct".getBytes(StandardCharsets.UTF_8)));
        Map<String, Integer> seen = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = counting(group, topic, seen);
        c.start();
        try {
            ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> seen.containsKey("direct"), "first delivery");
            String clientId = admin.examineConsumerConnectionInfo(group).getConnectionSet().iterator().next().getClientId();
            org.apache.rocketmq.remoting.protocol.body.ConsumerRunningInfo info =
                admin.getConsumerRunningInfo(group, clientId, false);
            assertTrue(info.getSubscriptionSet().stream().anyMatch(sd -> sd.getTopic().equals(topic)),
                "subscriptions: " + info.getSubscriptionSet());
            assertEquals(2, info.getMqTable().keySet().stream().filter(mq -> mq.getTopic().equals(topic)).count(),
                "queues: " + info.getMqTable().keySet());
            assertThrows(Exception.class, () -> admin.getConsumerRunningInfo(group, "no-such-client", false));

            org.apache.rocketmq.remoting.protocol.body.ConsumeMessageDirectlyResult r =
                admin.consumeMessageDirectly(group, clientId, topic, sent.getMsgId());
            assertEquals(org.apache.rocketmq.remoting.protocol.body.CMResult.CR_SUCCESS, r.getConsumeResult(), r.toString());
            ProducerConsumerInteropTest.await(Duration.ofSeconds(10), () -> seen.get("direct") >= 2, "direct consumption");
        } finally {
            c.shutdown();
        }
    }

    private static long minuteSum(String broker, String name, String key) {
        try {
            return admin.viewBrokerStatsData(broker, name, key).getStatsMinute().getSum();
        } catch (Exception e) {
            return -1;
        }
    }

    private static long committedOffsets(String group, String topic) {
        try {
            return admin.examineConsumeStats(group, topic).getOffsetTable().entrySet().stream()
                .filter(e -> e.getKey().getTopic().equals(topic))
                .mapToLong(e -> e.getValue().getConsumerOffset()).sum();
        } catch (Exception e) {
            return -1;
        }
    }

    /**
     * mqadmin topicList -c, cloneGroupOffset and the group lookups: which
     * groups consume a topic, which topics a group consumes, a group's
     * config, and one group's offsets copied to another.
     */
    @Test
    void whoConsumesWhatAndCloneGroupOffset() throws Exception {
        String topic = createTopic("InteropWho", 2);
        String group = "interop_who_" + System.nanoTime();
        String copy = group + "_copy";
        sendAll(topic, "w-", 6);
        // mqadmin statsAll's figures: sampled every 10 s, a minute's worth
        // kept in the minute window.
        String broker = basalt.addr("broker");
        ProducerConsumerInteropTest.await(Duration.ofSeconds(40),
            () -> minuteSum(broker, "TOPIC_PUT_NUMS", topic) == 6, "puts in the minute's stats");
        Map<String, Integer> seen = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = counting(group, topic, seen);
        c.start();
        try {
            ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> committedOffsets(group, topic) == 6, "offsets committed");
            assertTrue(admin.queryTopicConsumeByWho(topic).getGroupList().contains(group));
            assertTrue(admin.queryTopicsByConsumer(group).getTopicList().contains(topic));
            assertEquals(group, admin.examineSubscriptionGroupConfig(basalt.addr("broker"), group).getGroupName());
            admin.cloneGroupOffset(group, copy, topic, true);
            assertEquals(6, committedOffsets(copy, topic));
            ProducerConsumerInteropTest.await(Duration.ofSeconds(40),
                () -> minuteSum(broker, "GROUP_GET_NUMS", topic + "@" + group) >= 6, "gets in the minute's stats");
            assertTrue(Long.parseLong(admin.fetchBrokerRuntimeStats(broker).getTable().get("msgPutTotalTodayNow")) >= 6);
        } finally {
            c.shutdown();
        }
    }

    /** mqadmin brokerConsumeStats, producer and deleteExpiredCommitLog. */
    @Test
    void brokerWideConsumeStatsProducersAndRetention() throws Exception {
        String topic = createTopic("InteropWide", 2);
        String group = "interop_wide_" + System.nanoTime();
        String broker = basalt.addr("broker");
        sendAll(topic, "b-", 4);
        Map<String, Integer> seen = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = counting(group, topic, seen);
        c.start();
        try {
            ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> committedOffsets(group, topic) == 4, "offsets committed");
            org.apache.rocketmq.remoting.protocol.body.ConsumeStatsList list = admin.fetchConsumeStatsInBroker(broker, false, 5000);
            assertEquals(broker, list.getBrokerAddr());
            long queues = list.getConsumeStatsList().stream()
                .filter(m -> m.containsKey(group))
                .flatMap(m -> m.get(group).stream())
                .flatMap(cs -> cs.getOffsetTable().entrySet().stream())
                .filter(e -> e.getKey().getTopic().equals(topic) && e.getValue().getBrokerOffset() == e.getValue().getConsumerOffset())
                .count();
            assertEquals(2, queues, "caught-up queues of " + topic + " in " + list.getConsumeStatsList());
            org.apache.rocketmq.remoting.protocol.body.ProducerTableInfo producers = admin.getAllProducerInfo(broker);
            assertTrue(producers.getData().containsKey("interop_pg2"), "producer groups: " + producers.getData().keySet());
            assertTrue(admin.deleteExpiredCommitLogByAddr(broker));
        } finally {
            c.shutdown();
        }
    }

    /** mqadmin getBrokerConfig: the broker's and the store's settings as properties. */
    @Test
    void getBrokerConfigListsBrokerAndStoreSettings() throws Exception {
        java.util.Properties p = admin.getBrokerConfig(basalt.addr("broker"));
        assertEquals("broker-a", p.getProperty("brokerName"));
        assertEquals("ASYNC_FLUSH", p.getProperty("flushDiskType"));
        assertEquals("true", p.getProperty("autoCreateTopicEnable"));
        assertTrue(Long.parseLong(p.getProperty("mappedFileSizeCommitLog")) > 0, p.toString());
    }

    /** mqadmin resetOffsetByTime (the tools' resetOffsetByTimestamp) rewinds a running consumer. */
    @Test
    void resetOffsetByTimeRewindsARunningConsumer() throws Exception {
        String topic = createTopic("InteropReset", 2);
        String group = "interop_reset_" + System.nanoTime();
        long before = System.currentTimeMillis() - 1000;
        sendAll(topic, "x-", 10);
        Map<String, Integer> seen = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = counting(group, topic, seen);
        c.start();
        try {
            ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> seen.size() >= 10, "first 10");
            Map<MessageQueue, Long> reset = admin.resetOffsetByTimestamp(topic, group, before, true);
            assertEquals(2, reset.size(), "queues reset: " + reset);
            reset.values().forEach(o -> assertEquals(0L, o));
            // Each queue's next pull is moved back; the client drops and
            // re-adds the queue and consumes everything again.
            ProducerConsumerInteropTest.await(Duration.ofSeconds(90),
                () -> seen.values().stream().filter(n -> n >= 2).count() >= 10, "all 10 again");
        } finally {
            c.shutdown();
        }
    }

    @Test
    void restartedConsumerResumesFromCommittedOffset() throws Exception {
        String topic = createTopic("InteropResume", 2);
        String group = "interop_resume_" + System.nanoTime();
        sendAll(topic, "r-", 10);
        List<String> first = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer c = pushConsumer(group, topic, (msgs, ctx) -> {
            msgs.forEach(m -> first.add(new String(m.getBody(), StandardCharsets.UTF_8)));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> first.size() >= 10, "first 10");
        c.shutdown(); // persists offsets to the broker
        for (int i = 10; i < 15; i++) {
            producer.send(new Message(topic, "T", ("r-" + i).getBytes(StandardCharsets.UTF_8)));
        }
        List<String> second = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer again = pushConsumer(group, topic, (msgs, ctx) -> {
            msgs.forEach(m -> second.add(new String(m.getBody(), StandardCharsets.UTF_8)));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        again.start();
        try {
            ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> second.size() >= 5, "5 new messages");
        } finally {
            again.shutdown();
        }
        for (String s : second) {
            int n = Integer.parseInt(s.substring(2));
            assertTrue(n >= 10, "re-delivered an acknowledged message: " + s);
        }
    }

    @Test
    void orderedMessagesArriveInSendOrderPerOrderId() throws Exception {
        String topic = createTopic("InteropOrder", 4);
        String group = "interop_order_" + System.nanoTime();
        int orders = 5;
        int steps = 10;
        for (int step = 0; step < steps; step++) {
            for (int order = 0; order < orders; order++) {
                Message m = new Message(topic, "T", (order + ":" + step).getBytes(StandardCharsets.UTF_8));
                SendStatus st = producer.send(m, (mqs, msg, arg) -> mqs.get((Integer) arg % mqs.size()), order)
                    .getSendStatus();
                assertEquals(SendStatus.SEND_OK, st);
            }
        }
        Map<Integer, List<Integer>> got = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("c-" + UUID.randomUUID());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                String[] p = new String(m.getBody(), StandardCharsets.UTF_8).split(":");
                got.computeIfAbsent(Integer.parseInt(p[0]), k -> new CopyOnWriteArrayList<>()).add(Integer.parseInt(p[1]));
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        c.start();
        try {
            ProducerConsumerInteropTest.await(Duration.ofSeconds(60),
                () -> got.values().stream().mapToInt(Collection::size).sum() >= orders * steps, "all ordered messages");
        } finally {
            c.shutdown();
        }
        for (int order = 0; order < orders; order++) {
            List<Integer> seq = got.get(order);
            for (int i = 0; i < steps; i++) {
                assertEquals(i, seq.get(i), "order " + order + " arrived as " + seq);
            }
        }
    }

    @Test
    void litePullAssignSeekPoll() throws Exception {
        String topic = createTopic("InteropLite", 1);
        for (int i = 0; i < 10; i++) {
            producer.send(new Message(topic, "T", ("l-" + i).getBytes(StandardCharsets.UTF_8)));
        }
        DefaultLitePullConsumer c = new DefaultLitePullConsumer("interop_lite_" + System.nanoTime());
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("l-" + UUID.randomUUID());
        c.setAutoCommit(false);
        c.start();
        try {
            List<MessageQueue> mqs = new ArrayList<>(c.fetchMessageQueues(topic));
            assertEquals(1, mqs.size());
            c.assign(mqs);
            // A new group on a young queue reads from its start.
            List<String> first = new ArrayList<>();
            ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> {
                c.poll(500).forEach(m -> first.add(new String(m.getBody(), StandardCharsets.UTF_8)));
                return first.size() >= 10;
            }, "10 messages from offset 0");
            assertEquals(IntStream.range(0, 10).mapToObj(i -> "l-" + i).toList(), first);
            // Seek only once the pull task is parked at offset 10: the client
            // keeps the result of a pull in flight during seek(), and a task
            // between its cancel check and reading the seek offset consumes
            // the seek (both client races). An empty poll of a second means
            // the task has long since sent its pull for offset 10, which
            // brings nothing back.
            assertTrue(c.poll(1000).isEmpty(), "nothing beyond offset 10");
            c.seek(mqs.get(0), 6);
            List<String> got = new ArrayList<>();
            ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> {
                c.poll(500).forEach(m -> got.add(new String(m.getBody(), StandardCharsets.UTF_8)));
                return got.size() >= 4;
            }, "4 messages from offset 6");
            assertEquals(List.of("l-6", "l-7", "l-8", "l-9"), got);
        } finally {
            c.shutdown();
        }
    }
}
