package org.basalt.spring;

import org.basalt.interop.BasaltProcess;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.topic.TopicValidator;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs one Basalt (name server + broker) for a test class. It must be
 * declared before {@code @SpringBootTest} so that it starts before the Spring
 * context and (JUnit runs afterAll callbacks in reverse order) is stopped
 * with SIGTERM only after the context has closed.
 */
public final class BasaltExtension implements BeforeAllCallback, AfterAllCallback {
    private static BasaltProcess basalt;
    private static Path workDir;
    /** Set by the test's context-closed listener; checked when stopping Basalt. */
    static volatile boolean contextClosed;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        ensureStarted();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        stop();
        if (!contextClosed) {
            throw new IllegalStateException("Basalt was stopped before the Spring context closed");
        }
    }

    /** Idempotent: also called from {@code @DynamicPropertySource}, whichever comes first. */
    static synchronized BasaltProcess ensureStarted() throws IOException, InterruptedException {
        if (basalt == null) {
            workDir = Files.createTempDirectory("basalt-spring");
            Path conf = workDir.resolve("broker.conf");
            // Check back every second on half messages older than two seconds.
            Files.writeString(conf, "transactionCheckInterval=1000\ntransactionTimeOut=2000\n");
            basalt = BasaltProcess.startIn(workDir.resolve("data"), "-c", conf.toString());
        }
        return basalt;
    }

    static synchronized void stop() throws IOException, InterruptedException {
        if (basalt != null) {
            basalt.close(); // SIGTERM, then waits for the exit
            basalt = null;
            BasaltProcess.deleteTree(workDir);
        }
    }

    /** Creates topics on the broker (as mqadmin updateTopic does) and waits until the name server routes them. */
    static void createTopics(List<String> topics, int queues) throws Exception {
        BasaltProcess b = ensureStarted();
        DefaultMQProducer admin = new DefaultMQProducer("basalt_spring_setup_" + System.nanoTime());
        admin.setNamesrvAddr(b.addr("namesrv"));
        admin.setInstanceName("setup-" + System.nanoTime());
        admin.start();
        try {
            var api = admin.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl();
            for (String topic : topics) {
                api.createTopic(b.addr("broker"), TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC,
                    new TopicConfig(topic, queues, queues, 6), 5000);
            }
            for (String topic : topics) {
                await(Duration.ofSeconds(20), () -> {
                    try {
                        TopicRouteData r = api.getTopicRouteInfoFromNameServer(topic, 3000);
                        return !r.getQueueDatas().isEmpty() && r.getQueueDatas().get(0).getWriteQueueNums() == queues;
                    } catch (Exception e) {
                        return false;
                    }
                }, "route of " + topic);
            }
        } finally {
            admin.shutdown();
        }
    }

    static void await(Duration within, BooleanSupplier cond, String what) throws InterruptedException {
        Instant deadline = Instant.now().plus(within);
        while (!cond.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("timed out after " + within.toMillis() + " ms waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
