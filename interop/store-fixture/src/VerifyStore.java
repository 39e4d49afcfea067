import java.io.File;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;

import org.apache.rocketmq.common.message.MessageDecoder;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.store.DefaultMessageStore;
import org.apache.rocketmq.store.GetMessageResult;
import org.apache.rocketmq.store.GetMessageStatus;
import org.apache.rocketmq.store.QueryMessageResult;

/**
 * Opens a store (written by Basalt) with Apache RocketMQ's DefaultMessageStore
 * and checks every message listed in its expected.tsv: topic, queue, offsets,
 * body, tags, keys, UNIQ_KEY, a user property, and lookup by key.
 */
public class VerifyStore {
    static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("mismatch: " + what);
        }
    }

    public static void main(String[] args) throws Exception {
        String root = args[0];
        DefaultMessageStore store = FixtureStore.open(root);
        List<String> lines = Files.readAllLines(new File(root, "expected.tsv").toPath(), StandardCharsets.UTF_8);
        int n = 0;
        for (String line : lines) {
            String[] f = line.split("\t", -1);
            String topic = f[0];
            int queue = Integer.parseInt(f[1]);
            long qo = Long.parseLong(f[2]);
            long phys = Long.parseLong(f[3]);
            GetMessageResult r = store.getMessage("verify", topic, queue, qo, 1, null);
            check(r.getStatus() == GetMessageStatus.FOUND, "status " + r.getStatus() + " for " + line);
            ByteBuffer b = r.getMessageBufferList().get(0);
            MessageExt m = MessageDecoder.decode(b, true, true);
            r.release();
            check(m.getTopic().equals(topic), "topic");
            check(m.getQueueId() == queue, "queue");
            check(m.getQueueOffset() == qo, "queue offset");
            check(m.getCommitLogOffset() == phys, "phys");
            check(f[4].equals(m.getTags()), "tags");
            check(f[5].equals(m.getKeys()), "keys");
            check(f[6].equals(m.getProperty("UNIQ_KEY")), "uniq");
            check(f[7].equals(m.getProperty("custom")), "custom");
            check(f[8].equals(new String(m.getBody(), StandardCharsets.UTF_8)), "body");
            String key = f[5].split(" ")[0];
            QueryMessageResult q = store.queryMessage(topic, key, 10, 0, Long.MAX_VALUE);
            check(!q.getMessageBufferList().isEmpty(), "query by key " + key);
            q.release();
            n++;
        }
        store.shutdown();
        System.out.println("VERIFIED " + n + " messages");
        System.exit(0);
    }
}
