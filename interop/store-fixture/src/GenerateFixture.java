import java.io.File;
import java.io.FileWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import org.apache.rocketmq.common.message.MessageClientIDSetter;
import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExtBrokerInner;
import org.apache.rocketmq.store.DefaultMessageStore;
import org.apache.rocketmq.store.PutMessageResult;

/**
 * Writes a small store with Apache RocketMQ's DefaultMessageStore and a
 * manifest (expected.tsv) of what was written, one line per message:
 * topic, queueId, queueOffset, physOffset, tags, keys, uniqKey, custom property, body.
 */
public class GenerateFixture {
    public static void main(String[] args) throws Exception {
        String root = args[0];
        DefaultMessageStore store = FixtureStore.open(root);
        String longTopic = "LongTopic" + "x".repeat(125);
        StringBuilder manifest = new StringBuilder();
        for (int i = 0; i < 60; i++) {
            MessageExtBrokerInner msg = new MessageExtBrokerInner();
            String topic = i % 10 == 9 ? longTopic : "FixtureTopic";
            msg.setTopic(topic);
            int queueId = i % 3;
            msg.setQueueId(queueId);
            String tags = i % 2 == 0 ? "TagA" : "TagB";
            msg.setTags(tags);
            String keys = "key-" + i + " common";
            msg.setKeys(keys);
            msg.putUserProperty("custom", "v" + i);
            MessageClientIDSetter.setUniqID(msg);
            String body = i % 7 == 3 ? "big-" + i + "-" + "y".repeat(3000) : "fixture-body-" + i;
            msg.setBody(body.getBytes(StandardCharsets.UTF_8));
            msg.setBornTimestamp(System.currentTimeMillis());
            msg.setBornHost(i % 5 == 4 ? new InetSocketAddress("::1", 40000 + i) : new InetSocketAddress("127.0.0.1", 40000 + i));
            msg.setStoreHost(new InetSocketAddress("127.0.0.1", 10911));
            if (i % 5 == 4) {
                msg.setBornHostV6Flag();
            }
            msg.setTagsCode(MessageExtBrokerInner.tagsString2tagsCode(tags));
            msg.setPropertiesString(MessageDecoder.messageProperties2String(msg.getProperties()));
            PutMessageResult r = store.putMessage(msg);
            if (!r.isOk()) {
                throw new IllegalStateException("put failed: " + r);
            }
            manifest.append(String.join("\t", topic, String.valueOf(queueId),
                String.valueOf(r.getAppendMessageResult().getLogicsOffset()),
                String.valueOf(r.getAppendMessageResult().getWroteOffset()),
                tags, keys, MessageClientIDSetter.getUniqID(msg), "v" + i, body)).append('\n');
        }
        store.shutdown();
        try (FileWriter w = new FileWriter(new File(root, "expected.tsv"), StandardCharsets.UTF_8)) {
            w.write(manifest.toString());
        }
        System.exit(0);
    }
}
