package org.basalt.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.body.ConsumeQueueData;
import org.apache.rocketmq.remoting.protocol.body.QueryConsumeQueueResponseBody;
import org.apache.rocketmq.remoting.protocol.body.QueueTimeSpan;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mqadmin's queue and list commands through Apache's admin client:
 * updateTopicList, updateSubGroupList, queryCq, getConsumerStatus,
 * cleanExpiredCQ and cleanUnusedTopic, with the console's consume time
 * span, subscription lookup and the broker's system topic list.
 */
class QueueAdminInteropTest {

    /** What a test does with a started Basalt, its broker address and clients of its own. */
    private interface WithClients {
        void run(String broker, DefaultMQAdminExt admin, DefaultMQProducer producer) throws Exception;
    }

    /** Runs `test` with an admin client and a producer on `b`, shut down after it; then stops `b`. */
    private static void withClients(BasaltProcess b, WithClients test) throws Exception {
        try (b) {
            String namesrv = b.addr("namesrv");
            DefaultMQAdminExt admin = RestartInteropTest.admin(namesrv);
            DefaultMQProducer producer = new DefaultMQProducer("interop_qa_pg");
            producer.setNamesrvAddr(namesrv);
            producer.setInstanceName("p-" + UUID.randomUUID());
            try {
                producer.start();
                test.run(b.addr("broker"), admin, producer);
            } finally {
                producer.shutdown();
                admin.shutdown();
            }
        }
    }

    /** mqadmin updateTopicList, answered once every route is out. */
    private static void createTopics(DefaultMQAdminExt admin, String broker, TopicConfig... configs) throws Exception {
        admin.createAndUpdateTopicConfigList(broker, List.of(configs));
        for (TopicConfig tc : configs) {
            ProducerConsumerInteropTest.await(Duration.ofSeconds(20), () -> {
                try {
                    return admin.examineTopicRouteInfo(tc.getTopicName()).getQueueDatas().get(0).getWriteQueueNums()
                        == tc.getWriteQueueNums();
                } catch (Exception e) {
                    return false;
                }
            }, "route of " + tc.getTopicName());
        }
    }

    private static long reportedOffset(DefaultMQAdminExt admin, String topic, String group, int queueId) {
        try {
            Map<String, Map<MessageQueue, Long>> status = admin.getConsumeStatus(topic, group, null);
            return status.values().stream()
                .flatMap(m -> m.entrySet().stream())
                .filter(e -> e.getKey().getTopic().equals(topic) && e.getKey().getQueueId() == queueId)
                .mapToLong(Map.Entry::getValue)
                .max()
                .orElse(-1);
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void listsQueryCqTimeSpansAndConsumerStatus() throws Exception {
        withClients(BasaltProcess.start(), (broker, admin, producer) -> {
            String namesrv = admin.getNamesrvAddr();
            String t1 = "InteropList1_" + System.nanoTime();
            String t2 = "InteropList2_" + System.nanoTime();
            createTopics(admin, broker, new TopicConfig(t1, 2, 2, 6), new TopicConfig(t2, 3, 3, 6));

            String group = "interop_list_" + System.nanoTime();
            SubscriptionGroupConfig g1 = new SubscriptionGroupConfig();
            g1.setGroupName(group);
            g1.setRetryMaxTimes(3);
            SubscriptionGroupConfig g2 = new SubscriptionGroupConfig();
            g2.setGroupName(group + "_2");
            g2.setRetryMaxTimes(4);
            admin.createAndUpdateSubscriptionGroupConfigList(broker, List.of(g1, g2));
            assertEquals(3, admin.examineSubscriptionGroupConfig(broker, group).getRetryMaxTimes());
            assertEquals(4, admin.examineSubscriptionGroupConfig(broker, group + "_2").getRetryMaxTimes());

            String brokerName = admin.examineTopicRouteInfo(t1).getBrokerDatas().get(0).getBrokerName();
            MessageQueue q0 = new MessageQueue(t1, brokerName, 0);
            long[] phys = new long[4];
            for (int i = 0; i < 4; i++) {
                SendResult r = producer.send(new Message(t1, "TagA", ("cq-" + i).getBytes(StandardCharsets.UTF_8)), q0);
                assertEquals(i, r.getQueueOffset());
                phys[i] = Long.parseLong(r.getOffsetMsgId().substring(r.getOffsetMsgId().length() - 16), 16);
            }

            // mqadmin queryCq -t t1 -q 0 -i 1 -c 2
            QueryConsumeQueueResponseBody cq = admin.queryConsumeQueue(broker, t1, 0, 1, 2, null);
            assertEquals(4, cq.getMaxQueueIndex());
            assertEquals(0, cq.getMinQueueIndex());
            List<ConsumeQueueData> entries = cq.getQueueData();
            assertEquals(2, entries.size(), String.valueOf(entries));
            for (int i = 0; i < 2; i++) {
                assertEquals(phys[i + 1], entries.get(i).getPhysicOffset(), entries.toString());
                assertEquals("TagA".hashCode(), entries.get(i).getTagsCode());
                assertTrue(entries.get(i).getPhysicSize() > 0);
            }
            assertThrows(Exception.class, () -> admin.queryConsumeQueue(broker, t1, 7, 0, 2, null));

            Map<String, Integer> seen = new ConcurrentHashMap<>();
            DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
            c.setNamesrvAddr(namesrv);
            c.setInstanceName("c-" + UUID.randomUUID());
            c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            c.setPersistConsumerOffsetInterval(200);
            c.subscribe(t1, "*");
            c.registerMessageListener((org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently) (msgs, ctx) -> {
                msgs.forEach(m -> seen.merge(new String(m.getBody(), StandardCharsets.UTF_8), 1, Integer::sum));
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            c.start();
            try {
                // mqadmin getConsumerStatus: the broker asks the consumer itself.
                ProducerConsumerInteropTest.await(Duration.ofSeconds(60),
                    () -> reportedOffset(admin, t1, group, 0) == 4, "the consumer's own offset of queue 0");
                assertEquals("*", admin.querySubscription(group, t1).getSubString());
                ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> {
                    try {
                        return admin.examineConsumeStats(group, t1).getOffsetTable().get(q0).getConsumerOffset() == 4;
                    } catch (Exception e) {
                        return false;
                    }
                }, "offset committed to the broker");
                List<QueueTimeSpan> spans = admin.queryConsumeTimeSpan(t1, group);
                assertEquals(2, spans.size(), String.valueOf(spans));
                QueueTimeSpan s0 = spans.stream().filter(s -> s.getMessageQueue().getQueueId() == 0).findFirst().orElseThrow();
                assertTrue(s0.getMinTimeStamp() > 0 && s0.getMinTimeStamp() <= s0.getConsumeTimeStamp()
                    && s0.getConsumeTimeStamp() <= s0.getMaxTimeStamp(), String.valueOf(spans));
                assertEquals(0, s0.getDelayTime(), "all consumed");
            } finally {
                c.shutdown();
            }
            assertTrue(admin.getDefaultMQAdminExtImpl().getMqClientInstance().getMQClientAPIImpl()
                .getSystemTopicListFromBroker(broker, 5000).getTopicList().contains("SCHEDULE_TOPIC_XXXX"));
        });
    }

    /**
     * cleanExpiredCQ removes a queue once retention took all its records (a
     * later message starts it again at offset 0); cleanUnusedTopic leaves
     * topics of the table alone.
     */
    @Test
    void cleanExpiredCqAfterRetentionAndCleanUnusedTopic(@TempDir Path dir) throws Exception {
        // 64 KiB CommitLog files, every file but the newest expired, and no
        // hour of the day at which the cleaner would delete them by itself.
        BasaltProcess b = BasaltProcess.startWithConf(dir,
            "mappedFileSizeCommitLog=65536\nfileReservedTime=0\ndeleteWhen=99\n");
        withClients(b, (broker, admin, producer) -> {
            String old = "InteropOld_" + System.nanoTime();
            String live = "InteropLive_" + System.nanoTime();
            createTopics(admin, broker, new TopicConfig(old, 1, 1, 6), new TopicConfig(live, 1, 1, 6));
            for (int i = 0; i < 3; i++) {
                producer.send(new Message(old, ("old-" + i).getBytes(StandardCharsets.UTF_8)));
            }
            byte[] big = new byte[1000];
            for (int i = 0; i < 300; i++) {
                producer.send(new Message(live, big));
            }
            // Nothing has expired yet: the old queue stays.
            assertTrue(admin.cleanExpiredConsumerQueueByAddr(broker));
            assertEquals(3, admin.queryConsumeQueue(broker, old, 0, 0, 10, null).getQueueData().size());
            assertTrue(admin.deleteExpiredCommitLogByAddr(broker));
            assertTrue(admin.cleanExpiredConsumerQueueByAddr(broker));
            assertThrows(Exception.class, () -> admin.queryConsumeQueue(broker, old, 0, 0, 10, null));
            QueryConsumeQueueResponseBody kept = admin.queryConsumeQueue(broker, live, 0, 299, 1, null);
            assertEquals(300, kept.getMaxQueueIndex());
            assertEquals(1, kept.getQueueData().size());
            assertEquals(0, producer.send(new Message(old, "again".getBytes(StandardCharsets.UTF_8))).getQueueOffset());

            assertTrue(admin.cleanUnusedTopicByAddr(broker));
            assertEquals(1, admin.queryConsumeQueue(broker, old, 0, 0, 10, null).getQueueData().size());
            assertEquals(300, admin.queryConsumeQueue(broker, live, 0, 0, 1, null).getMaxQueueIndex());
        });
    }
}
