package org.basalt.spring;

import org.apache.rocketmq.spring.annotation.RocketMQMessageListener;
import org.apache.rocketmq.spring.annotation.RocketMQTransactionListener;
import org.apache.rocketmq.spring.core.RocketMQListener;
import org.apache.rocketmq.spring.core.RocketMQLocalTransactionListener;
import org.apache.rocketmq.spring.core.RocketMQLocalTransactionState;
import org.springframework.messaging.Message;
import org.springframework.stereotype.Component;

/** The order service's RocketMQ listeners; topics and groups come from properties. */
public final class Listeners {
    private Listeners() {}

    @Component
    @RocketMQMessageListener(topic = "${orders.topic.created}", consumerGroup = "${orders.group.created}")
    public static class OrderCreated implements RocketMQListener<String> {
        private final OrderBook book;

        public OrderCreated(OrderBook book) {
            this.book = book;
        }

        @Override
        public void onMessage(String orderId) {
            book.created.putIfAbsent(orderId, System.currentTimeMillis());
        }
    }

    /** Closes an order that is still unpaid when the delayed message arrives. */
    @Component
    @RocketMQMessageListener(topic = "${orders.topic.close}", consumerGroup = "${orders.group.close}")
    public static class CloseUnpaidOrder implements RocketMQListener<String> {
        private final OrderBook book;

        public CloseUnpaidOrder(OrderBook book) {
            this.book = book;
        }

        @Override
        public void onMessage(String orderId) {
            if (!book.paid.containsKey(orderId)) {
                book.closed.putIfAbsent(orderId, System.currentTimeMillis());
            }
        }
    }

    @Component
    @RocketMQMessageListener(topic = "${orders.topic.paid}", consumerGroup = "${orders.group.paid}")
    public static class OrderPaid implements RocketMQListener<String> {
        private final OrderBook book;

        public OrderPaid(OrderBook book) {
            this.book = book;
        }

        @Override
        public void onMessage(String orderId) {
            book.paid.putIfAbsent(orderId, System.currentTimeMillis());
        }
    }

    /**
     * The local transaction commits on the spot; a check-back, should one
     * come, is answered with COMMIT too. (Check-back itself is covered by the
     * Java, Go and Rust suites; here it failed once in three CI runs with no
     * diagnosis yet — see the session note.)
     */
    @RocketMQTransactionListener
    public static class PaymentTransaction implements RocketMQLocalTransactionListener {
        private final OrderBook book;

        public PaymentTransaction(OrderBook book) {
            this.book = book;
        }

        private static String orderId(Message msg) {
            Object p = msg.getPayload();
            return p instanceof byte[] b ? new String(b, java.nio.charset.StandardCharsets.UTF_8) : String.valueOf(p);
        }

        @Override
        public RocketMQLocalTransactionState executeLocalTransaction(Message msg, Object arg) {
            book.executed.add(orderId(msg));
            return RocketMQLocalTransactionState.COMMIT;
        }

        @Override
        public RocketMQLocalTransactionState checkLocalTransaction(Message msg) {
            book.checkedBack.putIfAbsent(orderId(msg), System.currentTimeMillis());
            return RocketMQLocalTransactionState.COMMIT;
        }
    }
}
