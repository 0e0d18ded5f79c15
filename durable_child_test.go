package tickethooks_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
)

// childEnv holds the JSON childConfig that makes TestDurableCrashChild act
// as an engine process of the test that started it.
const childEnv = "TICKETHOOKS_DURABLE_CHILD"

// childFired is the line the child prints once every OnTicketChange call
// has returned.
const childFired = "DURABLE-CHILD-FIRED"

// childConfig tells a child process which database to open and what to
// fire.
type childConfig struct {
	Backend string // a durableBackend name
	DSN     string
	Prefix  string
	URL     string // the receiver, in the parent
	// FirstTicket and Count: the child fires the tickets FirstTicket,
	// FirstTicket+1, ... from Open to Resolved.
	FirstTicket, Count int
	Workers            int
	Lease              time.Duration
	Owner              string
	// Tenant, when set, makes the child an engine configured for tenants
	// that fires the tickets as this tenant's.
	Tenant string
}

// TestDurableCrashChild is not a test of its own: TestDurableCrash and
// TestDurableFleet run the test binary again with only this test and
// childEnv set, and the child is one engine process that they kill
// mid-delivery. Without childEnv it skips.
func TestDurableCrashChild(t *testing.T) {
	raw := os.Getenv(childEnv)
	if raw == "" {
		t.Skip("runs only as a child process of TestDurableCrash and TestDurableFleet")
	}
	var cfg childConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatalf("decoding %s: %v", childEnv, err)
	}
	b, ok := durableByName(cfg.Backend)
	if !ok {
		t.Fatalf("unknown backend %q", cfg.Backend)
	}
	pool, err := sql.Open(b.driver, cfg.DSN)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer pool.Close()
	l, err := sqllog.New(pool, sqllog.Config{Dialect: b.dialect, TablePrefix: cfg.Prefix})
	if err != nil {
		t.Fatalf("sqllog.New: %v", err)
	}
	triggers := durableTriggers(t, cfg.URL)
	var opts []tickethooks.ChangeOption
	if cfg.Tenant != "" {
		triggers = tenantTriggers(t, map[string]string{cfg.Tenant: cfg.URL})
		opts = append(opts, tickethooks.WithTenant(cfg.Tenant))
	}
	e, err := tickethooks.New(tickethooks.Config{
		MultiTenant:  cfg.Tenant != "",
		Triggers:     triggers,
		Log:          l,
		Sender:       taggedSender{tag: cfg.Owner, next: loopbackSender()},
		Workers:      cfg.Workers,
		Lease:        cfg.Lease,
		PollInterval: 20 * time.Millisecond,
		Owner:        cfg.Owner,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer e.Close(context.Background())
	for id := cfg.FirstTicket; id < cfg.FirstTicket+cfg.Count; id++ {
		before, after := resolving(id)
		if err := e.OnTicketChange(context.Background(), before, after, opts...); err != nil {
			t.Fatalf("OnTicketChange(ticket %d): %v", id, err)
		}
	}
	fmt.Println(childFired)
	// Deliver until the parent kills this process; should the parent die
	// first, its end of stdin closes and the child ends too.
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// child is an engine process started by a test.
type child struct {
	cmd    *exec.Cmd
	out    *watchWriter
	exited chan struct{} // closed when the process has ended
	err    error         // of Wait, once exited is closed

	killOnce sync.Once
	killed   chan struct{} // closed when the parent killed the child
	killedAt time.Time     // set before killed is closed
}

// startChild runs TestDurableCrashChild in a new process with cfg. The
// process is killed, if still running, when the test ends.
func startChild(t *testing.T, cfg childConfig) *child {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &child{
		cmd:    exec.Command(os.Args[0], "-test.run=^TestDurableCrashChild$", "-test.count=1"),
		out:    &watchWriter{line: []byte(childFired + "\n"), seen: make(chan struct{})},
		exited: make(chan struct{}),
		killed: make(chan struct{}),
	}
	c.cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	c.cmd.Stdout = c.out
	c.cmd.Stderr = c.out
	// The child reads stdin until EOF, which comes when this process ends:
	// a parent that dies takes its children with it.
	if _, err := c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting the child process: %v", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.kill()
		<-c.exited
	})
	return c
}

// kill sends SIGKILL to the child: it gets no chance to finish anything.
// It is safe to call from any goroutine, more than once.
func (c *child) kill() {
	c.killOnce.Do(func() {
		c.killedAt = time.Now()
		close(c.killed)
		_ = c.cmd.Process.Kill()
	})
}

// waitFired waits until the child has recorded all its firings.
func (c *child) waitFired(t *testing.T) {
	t.Helper()
	select {
	case <-c.out.seen:
	case <-c.exited:
		t.Fatalf("child process ended (%v) before firing; its output:\n%s", c.err, c.out)
	case <-time.After(60 * time.Second):
		t.Fatalf("child process did not fire within 60 s; its output:\n%s", c.out)
	}
}

// waitKilled waits until the child was killed and has ended.
func (c *child) waitKilled(t *testing.T) {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("child process was not killed within 30 s; its output:\n%s", c.out)
	}
	select {
	case <-c.killed:
	default:
		t.Fatalf("child process ended (%v) before it was killed; its output:\n%s", c.err, c.out)
	}
}

// watchWriter keeps a process's output and closes seen once line appears
// in it.
type watchWriter struct {
	line []byte
	seen chan struct{}

	mu   sync.Mutex
	buf  bytes.Buffer
	done bool
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && bytes.Contains(w.buf.Bytes(), w.line) {
		w.done = true
		close(w.seen)
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
