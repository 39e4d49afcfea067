package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// basalt is one running `basalt start` process (name server + broker) with its own data dir.
type basalt struct {
	Namesrv string
	Broker  string
	DataDir string
	LogPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

type readyFile struct {
	Pid     int    `json:"pid"`
	Namesrv string `json:"namesrv"`
	Broker  string `json:"broker"`
}

// basaltBin is $BASALT_BIN, or ../../target/debug/basalt relative to this directory.
func basaltBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("BASALT_BIN")
	if bin == "" {
		bin = filepath.Join("..", "..", "target", "debug", "basalt")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatalf("resolving basalt binary %q: %v", bin, err)
	}
	st, err := os.Stat(abs)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("basalt binary not found or not executable at %s (set BASALT_BIN or build it with cargo build): %v", abs, err)
	}
	return abs
}

// startBasalt runs the real binary with a fresh temp data dir and ephemeral ports, waits (with a
// deadline) for run/ready.json, and registers a cleanup that stops it with SIGTERM. extraArgs are
// appended to the `basalt start` command line (e.g. "-c", "/path/broker.conf").
func startBasalt(t *testing.T, extraArgs ...string) *basalt {
	t.Helper()
	bin := basaltBin(t)
	dataDir := t.TempDir()
	logPath := filepath.Join(dataDir, "basalt.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating basalt log: %v", err)
	}
	args := append([]string{"start", "--data-dir", dataDir,
		"--namesrv-port", "0", "--broker-port", "0", "--bind", "127.0.0.1"}, extraArgs...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", bin, err)
	}
	b := &basalt{DataDir: dataDir, LogPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		b.waitErr = cmd.Wait()
		logFile.Close()
		close(b.exited)
	}()
	t.Cleanup(func() { b.stop(t) })

	ready := filepath.Join(dataDir, "run", "ready.json")
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-b.exited:
			b.dumpLog(t)
			t.Fatalf("basalt exited before becoming ready: %v", b.waitErr)
		default:
		}
		if data, err := os.ReadFile(ready); err == nil {
			var r readyFile
			if json.Unmarshal(data, &r) == nil && r.Namesrv != "" && r.Broker != "" {
				if r.Pid != cmd.Process.Pid {
					t.Fatalf("ready.json pid %d is not the started process %d: %s", r.Pid, cmd.Process.Pid, data)
				}
				b.Namesrv, b.Broker = r.Namesrv, r.Broker
				t.Logf("basalt ready: namesrv=%s broker=%s data=%s args=%v", b.Namesrv, b.Broker, dataDir, extraArgs)
				return b
			}
		}
		if time.Now().After(deadline) {
			b.dumpLog(t)
			t.Fatalf("basalt not ready within 30 s (no complete %s)", ready)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a clean exit within 15 s; it kills the process otherwise.
func (b *basalt) stop(t *testing.T) {
	select {
	case <-b.exited:
		t.Errorf("basalt exited during the test: %v", b.waitErr)
		b.dumpLog(t)
		return
	default:
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
		if b.waitErr != nil {
			t.Errorf("basalt did not exit cleanly on SIGTERM: %v", b.waitErr)
			b.dumpLog(t)
		}
	case <-time.After(15 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
		t.Errorf("basalt did not exit within 15 s of SIGTERM; killed")
		b.dumpLog(t)
	}
	if t.Failed() {
		b.dumpLog(t)
	}
}

var dumped atomic.Value

// dumpLog prints the tail of basalt's log (once per process) to help diagnose failures.
func (b *basalt) dumpLog(t *testing.T) {
	if prev, _ := dumped.Load().(string); prev == b.LogPath {
		return
	}
	dumped.Store(b.LogPath)
	data, err := os.ReadFile(b.LogPath)
	if err != nil {
		t.Logf("reading basalt log: %v", err)
		return
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	const keep = 200
	if len(lines) > keep {
		lines = lines[len(lines)-keep:]
	}
	t.Logf("--- tail of basalt log %s ---\n%s\n--- end of basalt log ---", b.LogPath, strings.Join(lines, "\n"))
}

// await polls cond every 50 ms until it holds or the deadline passes.
func await(t *testing.T, deadline time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out after %s waiting for %s; state: %s", deadline, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// unique returns a name that is unique within this run and across runs.
func unique(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), time.Now().UnixNano())
}
