import java.io.File;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.common.BrokerConfig;
import org.apache.rocketmq.store.DefaultMessageStore;
import org.apache.rocketmq.store.config.FlushDiskType;
import org.apache.rocketmq.store.config.MessageStoreConfig;
import org.apache.rocketmq.store.stats.BrokerStatsManager;

/** The small store layout both sides agree on (see fixture_config in tests/interop.rs). */
final class FixtureStore {
    private FixtureStore() {
    }

    static DefaultMessageStore open(String root) throws Exception {
        MessageStoreConfig cfg = new MessageStoreConfig();
        cfg.setStorePathRootDir(root);
        cfg.setStorePathCommitLog(root + File.separator + "commitlog");
        cfg.setMappedFileSizeCommitLog(16 * 1024);
        cfg.setMappedFileSizeConsumeQueue(20 * 20);
        cfg.setMaxHashSlotNum(64);
        cfg.setMaxIndexNum(256);
        cfg.setFlushDiskType(FlushDiskType.SYNC_FLUSH);
        cfg.setHaListenPort(0);
        DefaultMessageStore store = new DefaultMessageStore(cfg, new BrokerStatsManager("fixture", true),
            (topic, queueId, logicOffset, tagsCode, msgStoreTime, filterBitMap, properties) -> { },
            new BrokerConfig(), new ConcurrentHashMap<>());
        if (!store.load()) {
            throw new IllegalStateException("load failed");
        }
        store.start();
        return store;
    }
}
