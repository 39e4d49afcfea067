package org.basalt.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What survives a clean restart, and a kill -9 under SYNC_FLUSH. */
class RestartInteropTest {

    private static DefaultMQProducer producer(String namesrv) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer("restart_pg");
        p.setNamesrvAddr(namesrv);
        p.setInstanceName("p-" + UUID.randomUUID());
        p.setSendMsgTimeout(10_000);
        p.start();
        return p;
    }

    private static DefaultMQPushConsumer consumer(String namesrv, String group, String topic, Set<String> into)
        throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("c-" + UUID.randomUUID());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setPersistConsumerOffsetInterval(200);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(m -> into.add(new String(m.getBody(), StandardCharsets.UTF_8)));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        return c;
    }

    @Test
    void brokerRestartKeepsMessagesAndOffsets(@TempDir Path dir) throws Exception {
        String topic = "RestartT_" + System.nanoTime();
        String group = "restart_g_" + System.nanoTime();
        BasaltProcess b = BasaltProcess.startIn(dir);
        DefaultMQProducer p = producer(b.addr("namesrv"));
        for (int i = 0; i < 10; i++) {
            assertEquals(SendStatus.SEND_OK, p.send(new Message(topic, ("a-" + i).getBytes(StandardCharsets.UTF_8))).getSendStatus());
        }
        Set<String> first = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer c = consumer(b.addr("namesrv"), group, topic, first);
        ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> first.size() == 10, "first 10");
        c.shutdown();
        p.shutdown();
        b.close();

        BasaltProcess again = BasaltProcess.startIn(dir);
        try {
            DefaultMQProducer p2 = producer(again.addr("namesrv"));
            for (int i = 0; i < 5; i++) {
                p2.send(new Message(topic, ("b-" + i).getBytes(StandardCharsets.UTF_8)));
            }
            p2.shutdown();
            Set<String> resumed = ConcurrentHashMap.newKeySet();
            DefaultMQPushConsumer c2 = consumer(again.addr("namesrv"), group, topic, resumed);
            Set<String> fresh = ConcurrentHashMap.newKeySet();
            DefaultMQPushConsumer c3 = consumer(again.addr("namesrv"), group + "_new", topic, fresh);
            try {
                ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> resumed.size() >= 5, "5 new for old group");
                ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> fresh.size() >= 15, "15 for new group");
            } finally {
                c2.shutdown();
                c3.shutdown();
            }
            assertTrue(resumed.stream().allMatch(s -> s.startsWith("b-")), "old group re-read: " + resumed);
        } finally {
            again.close();
        }
    }

    @Test
    void everyAcknowledgedMessageSurvivesKillNineUnderSyncFlush(@TempDir Path dir) throws Exception {
        String topic = "Kill9T_" + System.nanoTime();
        BasaltProcess b = BasaltProcess.startWithConf(dir, "flushDiskType=SYNC_FLUSH\n");
        DefaultMQProducer p = producer(b.addr("namesrv"));
        p.setRetryTimesWhenSendFailed(0);
        Set<String> acked = ConcurrentHashMap.newKeySet();
        AtomicBoolean stop = new AtomicBoolean();
        Thread sender = new Thread(() -> {
            for (int i = 0; !stop.get(); i++) {
                String body = "k-" + i;
                try {
                    SendResult r = p.send(new Message(topic, body.getBytes(StandardCharsets.UTF_8)));
                    if (r.getSendStatus() == SendStatus.SEND_OK) {
                        acked.add(body);
                    }
                } catch (Exception e) {
                    // After the kill sends fail; only acknowledged ones count.
                }
            }
        });
        sender.start();
        ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> acked.size() >= 200, "200 acknowledged sends");
        b.kill();
        stop.set(true);
        sender.join(30_000);
        p.shutdown();
        Set<String> ackedAtKill = Set.copyOf(acked);

        BasaltProcess again = BasaltProcess.startWithConf(dir);
        try {
            Set<String> got = ConcurrentHashMap.newKeySet();
            DefaultMQPushConsumer c = consumer(again.addr("namesrv"), "kill9_g_" + System.nanoTime(), topic, got);
            try {
                ProducerConsumerInteropTest.await(Duration.ofSeconds(90), () -> got.containsAll(ackedAtKill),
                    "all " + ackedAtKill.size() + " acknowledged messages after recovery");
            } finally {
                c.shutdown();
            }
        } finally {
            again.close();
        }
    }

    @Test
    void delayedBurstSurvivesKillNine(@TempDir Path dir) throws Exception {
        String topic = "Kill9Delay_" + System.nanoTime();
        BasaltProcess b = BasaltProcess.startIn(dir.resolve("data"));
        DefaultMQProducer p = producer(b.addr("namesrv"));
        Set<String> sent = ConcurrentHashMap.newKeySet();
        for (int i = 0; i < 50; i++) {
            Message m = new Message(topic, ("d-" + i).getBytes(StandardCharsets.UTF_8));
            m.setDelayTimeLevel(1 + i % 3);
            assertEquals(SendStatus.SEND_OK, p.send(m).getSendStatus());
            sent.add("d-" + i);
        }
        // Killed while most of the burst is still scheduled.
        b.kill();
        p.shutdown();
        BasaltProcess again = BasaltProcess.startIn(dir.resolve("data"));
        try {
            Set<String> got = ConcurrentHashMap.newKeySet();
            DefaultMQPushConsumer c = consumer(again.addr("namesrv"), "kill9_delay_g_" + System.nanoTime(), topic, got);
            try {
                ProducerConsumerInteropTest.await(Duration.ofSeconds(60), () -> got.containsAll(sent),
                    "all 50 delayed messages after recovery");
            } finally {
                c.shutdown();
            }
        } finally {
            again.close();
        }
    }

    static DefaultMQAdminExt admin(String namesrv) throws Exception {
        DefaultMQAdminExt admin = new DefaultMQAdminExt(5000);
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("admin-" + UUID.randomUUID());
        admin.start();
        return admin;
    }

    private static int routePerm(DefaultMQAdminExt admin, String topic) {
        try {
            TopicRouteData r = admin.examineTopicRouteInfo(topic);
            return r.getQueueDatas().get(0).getPerm();
        } catch (Exception e) {
            return -1;
        }
    }

    /**
     * mqadmin updateBrokerConfig: brokerPermission=4 takes the broker out of
     * writing at once (and out of the routes), the file given with -c keeps
     * what changed, and a restart starts from it.
     */
    @Test
    void updateBrokerConfigAppliesThePermissionAndKeepsTheFile(@TempDir Path dir) throws Exception {
        String topic = "UpdCfgT_" + System.nanoTime();
        BasaltProcess b = BasaltProcess.startWithConf(dir, "# kept\nbrokerName=broker-a\n");
        DefaultMQAdminExt admin = admin(b.addr("namesrv"));
        try {
            DefaultMQProducer p = producer(b.addr("namesrv"));
            assertEquals(SendStatus.SEND_OK, p.send(new Message(topic, "w".getBytes(StandardCharsets.UTF_8))).getSendStatus());
            java.util.Properties update = new java.util.Properties();
            update.setProperty("brokerPermission", "4");
            update.setProperty("fileReservedTime", "24");
            admin.updateBrokerConfig(b.addr("broker"), update);
            assertEquals("4", admin.getBrokerConfig(b.addr("broker")).getProperty("brokerPermission"));
            // Basalt refuses every send on a broker that is not writable
            // (NO_PERMISSION, which the producer retries elsewhere); RocketMQ
            // refuses only order topics there and relies on the routes.
            assertThrows(Exception.class, () -> p.send(new Message(topic, "r".getBytes(StandardCharsets.UTF_8))));
            // Registered again at once: the route says read-only.
            ProducerConsumerInteropTest.await(Duration.ofSeconds(10), () -> routePerm(admin, topic) == 4, "route perm 4");
            String text = Files.readString(dir.resolve("broker.conf"));
            assertTrue(text.startsWith("# kept\nbrokerName=broker-a\n"), text);
            assertTrue(text.contains("brokerPermission=4\n") && text.contains("fileReservedTime=24\n"), text);

            update = new java.util.Properties();
            update.setProperty("brokerPermission", "6");
            admin.updateBrokerConfig(b.addr("broker"), update);
            ProducerConsumerInteropTest.await(Duration.ofSeconds(10), () -> routePerm(admin, topic) == 6, "route perm 6");
            p.shutdown();
            DefaultMQProducer again = producer(b.addr("namesrv"));
            assertEquals(SendStatus.SEND_OK, again.send(new Message(topic, "w2".getBytes(StandardCharsets.UTF_8))).getSendStatus());
            again.shutdown();
        } finally {
            admin.shutdown();
            b.close();
        }
        BasaltProcess restarted = BasaltProcess.startWithConf(dir);
        DefaultMQAdminExt admin2 = admin(restarted.addr("namesrv"));
        try {
            java.util.Properties p = admin2.getBrokerConfig(restarted.addr("broker"));
            assertEquals("24", p.getProperty("fileReservedTime"));
            assertEquals("6", p.getProperty("brokerPermission"));
        } finally {
            admin2.shutdown();
            restarted.close();
        }
    }

    /** brokerIP1 may name a host: routes carry the name, clients resolve it. */
    @Test
    void brokerIp1MayNameAHost(@TempDir Path dir) throws Exception {
        String topic = "HostNamedT_" + System.nanoTime();
        BasaltProcess b = BasaltProcess.startWithConf(dir, "brokerIP1=localhost\n");
        DefaultMQAdminExt admin = admin(b.addr("namesrv"));
        try {
            DefaultMQProducer p = producer(b.addr("namesrv"));
            SendResult r = p.send(new Message(topic, "h".getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            p.shutdown();
            TopicRouteData route = admin.examineTopicRouteInfo(topic);
            String addr = route.getBrokerDatas().get(0).getBrokerAddrs().get(0L);
            assertTrue(addr.startsWith("localhost:"), addr);
        } finally {
            admin.shutdown();
            b.close();
        }
    }

}
