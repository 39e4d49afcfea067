package org.basalt.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.UtilAll;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyRemotingClient;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.protocol.RequestCode;
import org.apache.rocketmq.remoting.protocol.ResponseCode;
import org.apache.rocketmq.remoting.protocol.SerializeType;
import org.apache.rocketmq.remoting.protocol.body.ClusterInfo;
import org.apache.rocketmq.remoting.protocol.body.KVTable;
import org.apache.rocketmq.remoting.protocol.body.RegisterBrokerBody;
import org.apache.rocketmq.remoting.protocol.body.TopicList;
import org.apache.rocketmq.remoting.protocol.header.namesrv.RegisterBrokerRequestHeader;
import org.apache.rocketmq.remoting.protocol.header.namesrv.RegisterBrokerResponseHeader;
import org.apache.rocketmq.remoting.protocol.header.namesrv.UnRegisterBrokerRequestHeader;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.route.QueueData;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Basalt's name server, driven by Apache RocketMQ's own admin and remoting clients. */
class NamesrvInteropTest {
    private static BasaltProcess basalt;
    private static String namesrv;
    private static DefaultMQAdminExt admin;
    private static NettyRemotingClient remoting;

    @BeforeAll
    static void startBasalt() throws Exception {
        basalt = BasaltProcess.start();
        namesrv = basalt.addr("namesrv");
        admin = new DefaultMQAdminExt(5000);
        admin.setNamesrvAddr(namesrv);
        admin.setInstanceName("interop-" + UUID.randomUUID());
        admin.start();
        remoting = new NettyRemotingClient(new NettyClientConfig());
        remoting.start();
    }

    @AfterAll
    static void stopBasalt() throws Exception {
        if (remoting != null) {
            remoting.shutdown();
        }
        if (admin != null) {
            admin.shutdown();
        }
        if (basalt != null) {
            basalt.close();
        }
    }

    @Test
    void clusterInfoOfAnEmptyNameServerIsEmpty() throws Exception {
        ClusterInfo info = admin.examineBrokerClusterInfo();
        assertNotNull(info);
        assertTrue(info.getClusterAddrTable() == null
                || !info.getClusterAddrTable().containsKey("EmptyCheckCluster"));
    }

    @Test
    void unknownTopicRouteIsTopicNotExist() {
        MQClientException e = assertThrows(MQClientException.class,
            () -> admin.examineTopicRouteInfo("NoSuchTopic_" + System.nanoTime()));
        assertEquals(ResponseCode.TOPIC_NOT_EXIST, e.getResponseCode());
    }

    @Test
    void kvConfigRoundTrip() throws Exception {
        admin.createAndUpdateKvConfig("INTEROP_NS", "k1", "v1");
        assertEquals("v1", admin.getKVConfig("INTEROP_NS", "k1"));
        admin.createAndUpdateKvConfig("INTEROP_NS", "k1", "v2");
        KVTable table = admin.getKVListByNamespace("INTEROP_NS");
        assertEquals("v2", table.getTable().get("k1"));
        admin.deleteKvConfig("INTEROP_NS", "k1");
        MQClientException e = assertThrows(MQClientException.class, () -> admin.getKVConfig("INTEROP_NS", "k1"));
        assertEquals(ResponseCode.QUERY_NOT_FOUND, e.getResponseCode());
    }

    @Test
    void nameServerConfigIsReadable() throws Exception {
        Map<String, Properties> configs = admin.getNameServerConfig(List.of(namesrv));
        Properties p = configs.get(namesrv);
        assertNotNull(p, configs.toString());
        assertEquals("5000", p.getProperty("scanNotActiveBrokerInterval"));
        assertTrue(p.getProperty("kvConfigPath").startsWith(basalt.dataDir.toString()), p.toString());
    }

    /**
     * mqadmin updateNamesrvConfig: a switch the name server reads per
     * request applies at once; black-listed keys and bad values are refused.
     */
    @Test
    void updateNamesrvConfigAppliesAtOnce() throws Exception {
        Properties off = new Properties();
        off.setProperty("enableAllTopicList", "false");
        admin.updateNameServerConfig(off, List.of(namesrv));
        try {
            assertEquals("false", admin.getNameServerConfig(List.of(namesrv)).get(namesrv).getProperty("enableAllTopicList"));
            assertThrows(Exception.class, () -> admin.fetchAllTopicList());
            Properties black = new Properties();
            black.setProperty("kvConfigPath", "/tmp/elsewhere.json");
            assertThrows(Exception.class, () -> admin.updateNameServerConfig(black, List.of(namesrv)));
            Properties bad = new Properties();
            bad.setProperty("orderMessageEnable", "maybe");
            assertThrows(Exception.class, () -> admin.updateNameServerConfig(bad, List.of(namesrv)));
        } finally {
            Properties on = new Properties();
            on.setProperty("enableAllTopicList", "true");
            admin.updateNameServerConfig(on, List.of(namesrv));
        }
        assertNotNull(admin.fetchAllTopicList());
    }

    private RemotingCommand register(String cluster, String brokerName, String addr, String topic,
        SerializeType serializeType) throws Exception {
        TopicConfig tc = new TopicConfig(topic, 4, 4, 6);
        RegisterBrokerBody body = new RegisterBrokerBody();
        body.getTopicConfigSerializeWrapper().getTopicConfigTable().put(topic, tc);
        body.getTopicConfigSerializeWrapper().getTopicConfigTable().put("TBW102", new TopicConfig("TBW102", 8, 8, 7));
        body.getTopicConfigSerializeWrapper().getDataVersion().nextVersion();
        byte[] raw = body.encode(false);

        RegisterBrokerRequestHeader header = new RegisterBrokerRequestHeader();
        header.setBrokerAddr(addr);
        header.setBrokerId(0L);
        header.setBrokerName(brokerName);
        header.setClusterName(cluster);
        header.setHaServerAddr("127.0.0.1:10912");
        header.setEnableActingMaster(false);
        header.setCompressed(false);
        header.setBodyCrc32(UtilAll.crc32(raw));
        RemotingCommand request = RemotingCommand.createRequestCommand(RequestCode.REGISTER_BROKER, header);
        request.setSerializeTypeCurrentRPC(serializeType);
        request.setBody(raw);
        return remoting.invokeSync(namesrv, request, 5000);
    }

    private RemotingCommand unregister(String cluster, String brokerName, String addr) throws Exception {
        UnRegisterBrokerRequestHeader header = new UnRegisterBrokerRequestHeader();
        header.setBrokerAddr(addr);
        header.setBrokerId(0L);
        header.setBrokerName(brokerName);
        header.setClusterName(cluster);
        RemotingCommand request = RemotingCommand.createRequestCommand(RequestCode.UNREGISTER_BROKER, header);
        return remoting.invokeSync(namesrv, request, 5000);
    }

    @Test
    void javaBrokerRegistrationAppearsInClusterAndRouteThenGoesAway() throws Exception {
        checkRegistration("InteropCluster", "interop-broker-json", "127.0.0.1:20911", "InteropTopicJson",
            SerializeType.JSON);
    }

    @Test
    void binaryHeaderRegistrationWorksToo() throws Exception {
        checkRegistration("InteropClusterBin", "interop-broker-bin", "127.0.0.1:21911", "InteropTopicBin",
            SerializeType.ROCKETMQ);
    }

    private void checkRegistration(String cluster, String brokerName, String addr, String topic,
        SerializeType serializeType) throws Exception {
        RemotingCommand response = register(cluster, brokerName, addr, topic, serializeType);
        assertEquals(ResponseCode.SUCCESS, response.getCode(), response.getRemark());
        response.decodeCommandCustomHeader(RegisterBrokerResponseHeader.class);

        ClusterInfo info = admin.examineBrokerClusterInfo();
        assertTrue(info.getClusterAddrTable().get(cluster).contains(brokerName));
        BrokerData bd = info.getBrokerAddrTable().get(brokerName);
        assertEquals(addr, bd.getBrokerAddrs().get(0L));
        assertEquals(cluster, bd.getCluster());

        TopicRouteData route = admin.examineTopicRouteInfo(topic);
        assertEquals(1, route.getBrokerDatas().size());
        assertEquals(addr, route.getBrokerDatas().get(0).selectBrokerAddr());
        QueueData qd = route.getQueueDatas().get(0);
        assertEquals(brokerName, qd.getBrokerName());
        assertEquals(4, qd.getWriteQueueNums());
        assertEquals(4, qd.getReadQueueNums());
        assertEquals(6, qd.getPerm());

        TopicList all = admin.fetchAllTopicList();
        assertTrue(all.getTopicList().contains(topic));
        Set<String> clusters = admin.getTopicClusterList(topic);
        assertTrue(clusters.contains(cluster), clusters.toString());

        assertEquals(ResponseCode.SUCCESS, unregister(cluster, brokerName, addr).getCode());
        MQClientException e = assertThrows(MQClientException.class, () -> admin.examineTopicRouteInfo(topic));
        assertEquals(ResponseCode.TOPIC_NOT_EXIST, e.getResponseCode());
        ClusterInfo after = admin.examineBrokerClusterInfo();
        assertFalse(after.getBrokerAddrTable().containsKey(brokerName));
    }
}
