package org.basalt.interop;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts the real basalt binary and waits for its ready.json (never a sleep-and-hope).
 * Shared by the Java and Spring Boot interop suites (added to both as a test source).
 */
public final class BasaltProcess implements AutoCloseable {
    private final Process process;
    private final String readyJson;
    public final Path dataDir;
    private boolean ownsDir;

    private BasaltProcess(Process process, String readyJson, Path dataDir) {
        this.process = process;
        this.readyJson = readyJson;
        this.dataDir = dataDir;
    }

    /** Deletes a data dir (segment files are large; CI disks are not). */
    public static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    public static BasaltProcess start(String... extra) throws IOException, InterruptedException {
        BasaltProcess b = startIn(Files.createTempDirectory("basalt-interop"), extra);
        b.ownsDir = true;
        return b;
    }

    /** Writes {@code conf} to dir/broker.conf and starts basalt on dir/data with it. */
    public static BasaltProcess startWithConf(Path dir, String conf) throws IOException, InterruptedException {
        Files.writeString(dir.resolve("broker.conf"), conf);
        return startWithConf(dir);
    }

    /** Starts basalt on dir/data with the dir/broker.conf already there (a restart). */
    public static BasaltProcess startWithConf(Path dir) throws IOException, InterruptedException {
        return startIn(dir.resolve("data"), "-c", dir.resolve("broker.conf").toString());
    }

    /** Starts basalt on an existing data dir (to restart over the same store). */
    public static BasaltProcess startIn(Path dataDir, String... extra) throws IOException, InterruptedException {
        String bin = System.getProperty("basalt.bin");
        if (bin == null || bin.isEmpty() || bin.startsWith("${")) {
            bin = Path.of("..", "..", "target", "debug", "basalt").toString();
        }
        if (!new File(bin).canExecute()) {
            throw new IllegalStateException("basalt binary not found at " + bin + " (build it with cargo build)");
        }
        List<String> cmd = new ArrayList<>(List.of(bin, "start", "--data-dir", dataDir.toString(),
            "--namesrv-port", "0", "--broker-port", "0", "--bind", "127.0.0.1"));
        cmd.addAll(List.of(extra));
        Path ready = dataDir.resolve("run").resolve("ready.json");
        // A killed process leaves its ready.json behind; it must not be
        // mistaken for the new one's.
        Files.deleteIfExists(ready);
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        // A test that fails before close() must not leave the broker
        // running: it holds the test JVM's stdout, and Maven waits for that
        // pipe to close (CI hung on it until its time limit).
        Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (Instant.now().isBefore(deadline)) {
            if (!p.isAlive()) {
                throw new IllegalStateException("basalt exited early with " + p.exitValue());
            }
            if (Files.exists(ready)) {
                String json = Files.readString(ready, StandardCharsets.UTF_8);
                if (json.trim().endsWith("}")) {
                    return new BasaltProcess(p, json, dataDir);
                }
            }
            Thread.sleep(20);
        }
        p.destroyForcibly();
        throw new IllegalStateException("basalt not ready within 30 s");
    }

    /** An address from ready.json, e.g. "namesrv". */
    public String addr(String role) {
        Matcher m = Pattern.compile("\"" + role + "\"\\s*:\\s*\"([^\"]+)\"").matcher(readyJson);
        if (!m.find()) {
            throw new IllegalStateException("no " + role + " in ready.json: " + readyJson);
        }
        return m.group(1);
    }

    /** SIGKILL: no shutdown hook, no flush, no checkpoint. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException, IOException {
        process.destroy();
        if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        }
        if (ownsDir) {
            deleteTree(dataDir);
        }
    }
}
