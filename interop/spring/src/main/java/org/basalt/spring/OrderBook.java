package org.basalt.spring;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.stereotype.Component;

/** What the listeners observed, with the wall-clock time (ms) each event arrived. */
@Component
public class OrderBook {
    public final Map<String, Long> created = new ConcurrentHashMap<>();
    public final Map<String, Long> closed = new ConcurrentHashMap<>();
    public final Map<String, Long> paid = new ConcurrentHashMap<>();
    /** Order ids whose local transaction the broker asked about (check-back), with the first check's time. */
    public final Map<String, Long> checkedBack = new ConcurrentHashMap<>();
    /** Order ids whose local transaction was executed (and left UNKNOWN). */
    public final Set<String> executed = ConcurrentHashMap.newKeySet();
}
