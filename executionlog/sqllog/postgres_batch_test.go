package sqllog

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tickethooks/tickethooks/executionlog"
)

// cuttingProxy forwards connections to the PostgreSQL server at target.
// Once a client has sent a message containing marker, the proxy holds the
// server's replies until its ReadyForQuery (the statement has run and
// committed) and then closes both sides without passing them on: the
// client sees a broken connection after the server committed.
func cuttingProxy(t *testing.T, target, marker string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var cut atomic.Bool // one cut per proxy
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			var armed atomic.Bool
			var once sync.Once
			kill := func() { once.Do(func() { c.Close(); s.Close() }) }
			go func() { // client to server
				buf := make([]byte, 1<<16)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if bytes.Contains(buf[:n], []byte(marker)) && cut.CompareAndSwap(false, true) {
							armed.Store(true)
						}
						_, _ = s.Write(buf[:n])
					}
					if err != nil {
						kill()
						return
					}
				}
			}()
			go func() { // server to client
				buf := make([]byte, 1<<16)
				var held []byte
				for {
					n, err := s.Read(buf)
					if n > 0 {
						if armed.Load() {
							held = append(held, buf[:n]...)
							if bytes.Contains(held, []byte{'Z', 0, 0, 0, 5}) {
								kill()
								return
							}
						} else {
							_, _ = c.Write(buf[:n])
						}
					}
					if err != nil {
						kill()
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestPostgresBatchConnectionLost shows that when the connection breaks
// after the server committed a batch of updates (one statement), no
// update is written a second time and no caller is told its lease was
// lost: each gets the connection's error, the outcome being unknown, as a
// lone Update would. pgx runs the statement in its "exec" mode (one round
// trip, as its default mode does for a statement it has prepared before),
// so that the cut falls after the statement ran.
func TestPostgresBatchConnectionLost(t *testing.T) {
	t.Parallel()
	tl := newTestLog(t, postgresBackend(t))
	u, err := url.Parse(os.Getenv("TICKETHOOKS_POSTGRES_DSN"))
	if err != nil || u.Host == "" {
		t.Skipf("TICKETHOOKS_POSTGRES_DSN is not a URL with a host: %v", err)
	}
	u.Host = cuttingProxy(t, u.Host, "WITH v (i, id")
	q := u.Query()
	q.Set("default_query_exec_mode", "exec")
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := New(db, Config{Dialect: Postgres, TablePrefix: tl.prefix})
	if err != nil {
		t.Fatal(err)
	}

	entries := claimAll(t, tl.Log, "a", 3)
	calls := make([]func() error, len(entries))
	for i, e := range entries {
		calls[i] = func() error { return l.Update(context.Background(), succeeded(e, "a", i)) }
	}
	errs := inBatch(t, l.updates, calls)
	for i, e := range entries {
		if errs[i] == nil || errors.Is(errs[i], executionlog.ErrLeaseLost) || errors.Is(errs[i], executionlog.ErrNotFound) {
			t.Errorf("update %d: err = %v, want the broken connection's error", i, errs[i])
		}
		got := mustGetEntry(t, tl.Log, e.ID)
		if got.Status != executionlog.StatusSucceeded || len(got.Attempts) != 1 {
			t.Errorf("entry %d: %s with %d attempts, want succeeded with 1 (written once)", i, got.Status, len(got.Attempts))
		}
	}
}
