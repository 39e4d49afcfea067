package org.basalt.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Transactional messages: commit, rollback, unknown + check-back, across a producer restart. */
class TransactionInteropTest {

    /** Decides by body; answers check-backs with COMMIT and counts them. */
    static final class Listener implements TransactionListener {
        final Set<String> checked = ConcurrentHashMap.newKeySet();
        volatile boolean answerChecks;

        Listener(boolean answerChecks) {
            this.answerChecks = answerChecks;
        }

        @Override
        public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
            String body = new String(msg.getBody(), StandardCharsets.UTF_8);
            if (body.startsWith("commit")) {
                return LocalTransactionState.COMMIT_MESSAGE;
            }
            if (body.startsWith("rollback")) {
                return LocalTransactionState.ROLLBACK_MESSAGE;
            }
            return LocalTransactionState.UNKNOW;
        }

        @Override
        public LocalTransactionState checkLocalTransaction(MessageExt msg) {
            checked.add(new String(msg.getBody(), StandardCharsets.UTF_8));
            return answerChecks ? LocalTransactionState.COMMIT_MESSAGE : LocalTransactionState.UNKNOW;
        }
    }

    private static TransactionMQProducer producer(String namesrv, String group, Listener l) throws Exception {
        TransactionMQProducer p = new TransactionMQProducer(group);
        p.setNamesrvAddr(namesrv);
        p.setInstanceName("tp-" + UUID.randomUUID());
        p.setTransactionListener(l);
        p.start();
        return p;
    }

    /** A started push consumer of `topic` from its start, keeping each body in `got`. */
    private static DefaultMQPushConsumer collecting(String namesrv, String topic, Set<String> got) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer("tx_cg_" + System.nanoTime());
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("c-" + UUID.randomUUID());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(m -> got.add(new String(m.getBody(), StandardCharsets.UTF_8)));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        return c;
    }

    @Test
    void commitRollbackAndCheckBackAcrossAProducerRestart(@TempDir Path dir) throws Exception {
        // Check every second, messages older than two seconds.
        BasaltProcess b = BasaltProcess.startWithConf(dir, "transactionCheckInterval=1000\ntransactionTimeOut=2000\n");
        try {
            String namesrv = b.addr("namesrv");
            String topic = "TxT_" + System.nanoTime();
            String group = "tx_pg_" + System.nanoTime();
            Listener first = new Listener(true);
            TransactionMQProducer p = producer(namesrv, group, first);
            for (String body : new String[] {"commit-1", "rollback-1", "unknown-1"}) {
                SendStatus st = p.sendMessageInTransaction(new Message(topic, body.getBytes(StandardCharsets.UTF_8)), null)
                    .getSendStatus();
                assertEquals(SendStatus.SEND_OK, st, body);
            }
            Set<String> got = ConcurrentHashMap.newKeySet();
            DefaultMQPushConsumer c = collecting(namesrv, topic, got);
            try {
                ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> got.contains("commit-1"), "committed message");
                ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> got.contains("unknown-1"),
                    "unknown message committed through the check-back");
                assertTrue(first.checked.contains("unknown-1"), "the check-back reached the producer");

                // A producer that leaves with a transaction open; its
                // replacement in the same group answers the check.
                Listener silent = new Listener(false);
                TransactionMQProducer leaving = producer(namesrv, group + "_2", silent);
                leaving.sendMessageInTransaction(new Message(topic, "unknown-2".getBytes(StandardCharsets.UTF_8)), null);
                leaving.shutdown();
                Listener replacement = new Listener(true);
                TransactionMQProducer back = producer(namesrv, group + "_2", replacement);
                // A restarted application sends again; that send is what
                // makes a Java producer learn the broker's address and
                // heartbeat to it (an idle new producer only heartbeats to
                // brokers it has routes for).
                back.sendMessageInTransaction(new Message(topic, "commit-2".getBytes(StandardCharsets.UTF_8)), null);
                try {
                    ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> got.contains("unknown-2"),
                        "check-back answered by the restarted producer");
                    assertTrue(replacement.checked.contains("unknown-2"));
                } finally {
                    back.shutdown();
                }
            } finally {
                c.shutdown();
                p.shutdown();
            }
            assertFalse(got.contains("rollback-1"), "rolled back message was delivered");
        } finally {
            b.close();
        }
    }

    /**
     * mqadmin resumeCheckHalfMessage: a half parked in
     * TRANS_CHECK_MAX_TIME_TOPIC after transactionCheckMax checks goes back
     * to be checked again, and a producer that now answers commits it.
     */
    @Test
    void aParkedHalfResumedIsCheckedAndCommitted(@TempDir Path dir) throws Exception {
        BasaltProcess b = BasaltProcess.startWithConf(dir, "transactionCheckInterval=500\ntransactionTimeOut=500\ntransactionCheckMax=1\n");
        String namesrv = b.addr("namesrv");
        String topic = "TxResume_" + System.nanoTime();
        Listener undecided = new Listener(false);
        TransactionMQProducer p = producer(namesrv, "tx_resume_pg_" + System.nanoTime(), undecided);
        DefaultMQAdminExt admin = new DefaultMQAdminExt(5000);
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("admin-" + UUID.randomUUID());
        admin.start();
        try {
            String msgId = p.sendMessageInTransaction(new Message(topic, "resumed".getBytes(StandardCharsets.UTF_8)), null)
                .getMsgId();
            ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> {
                try {
                    return admin.viewMessage("TRANS_CHECK_MAX_TIME_TOPIC", msgId) != null;
                } catch (Exception e) {
                    return false;
                }
            }, "the half parked after its checks");
            assertTrue(undecided.checked.contains("resumed"));
            undecided.answerChecks = true;
            assertTrue(admin.resumeCheckHalfMessage("TRANS_CHECK_MAX_TIME_TOPIC", msgId));
            Set<String> got = ConcurrentHashMap.newKeySet();
            DefaultMQPushConsumer c = collecting(namesrv, topic, got);
            try {
                ProducerConsumerInteropTest.await(Duration.ofSeconds(30), () -> got.contains("resumed"),
                    "the resumed half committed through a check-back");
            } finally {
                c.shutdown();
            }
        } finally {
            admin.shutdown();
            p.shutdown();
            b.close();
        }
    }
}
