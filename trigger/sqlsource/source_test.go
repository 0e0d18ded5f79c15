package sqlsource_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tickethooks/tickethooks/trigger"
	"github.com/tickethooks/tickethooks/trigger/sqlsource"
)

// TestLoad: another process's Source loads the stored triggers in the
// order of their positions, then ids, with the enabled column, and
// Trigger finds each by id.
func TestLoad(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		writer := db.source(t, sqlsource.Config{})
		put(t, writer, hook("b", "b"), 2)
		put(t, writer, hook("a", "a"), 1)
		put(t, writer, hook("c", "c", `"enabled": false`, `"name": "Third"`), 2)

		reader := db.source(t, sqlsource.Config{}) // Migrate again: a no-op
		want := []summary{{"a", true, url("a")}, {"b", true, url("b")}, {"c", false, url("c")}}
		if diff := cmp.Diff(want, served(t, reader)); diff != "" {
			t.Errorf("triggers mismatch (-want +got):\n%s", diff)
		}
		c, err := reader.Trigger(ctx, "", "c")
		if err != nil {
			t.Fatalf("Trigger(c): %v", err)
		}
		if diff := cmp.Diff(summary{"c", false, url("c")}, summary{c.ID, c.Enabled, c.Actions[0].URL}); diff != "" {
			t.Errorf("Trigger(c) mismatch (-want +got):\n%s", diff)
		}
		if c.Name != "Third" {
			t.Errorf("Trigger(c).Name = %q, want Third", c.Name)
		}
		if _, err := reader.Trigger(ctx, "", "unknown"); !errors.Is(err, trigger.ErrNotFound) {
			t.Errorf("Trigger(unknown) = %v, want an error matching trigger.ErrNotFound", err)
		}
	})
}

// TestChanges: a change through one Source is served by it at once, and
// by another process's Source once CheckInterval has passed, not before.
func TestChanges(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		clk := newClock()
		writer := db.source(t, sqlsource.Config{})
		reader := db.source(t, sqlsource.Config{CheckInterval: time.Minute, Now: clk.Now})
		put(t, writer, hook("a", "a"), 1)
		put(t, writer, hook("b", "b"), 2)
		start := []summary{{"a", true, url("a")}, {"b", true, url("b")}}
		if diff := cmp.Diff(start, served(t, reader)); diff != "" {
			t.Fatalf("first load mismatch (-want +got):\n%s", diff)
		}

		steps := []struct {
			name   string
			change func() error
			want   []summary
		}{
			{"Put new", func() error { return writer.Put(ctx, "", hook("c", "c"), 3) },
				[]summary{{"a", true, url("a")}, {"b", true, url("b")}, {"c", true, url("c")}}},
			{"SetEnabled false", func() error { return writer.SetEnabled(ctx, "", "a", false) },
				[]summary{{"a", false, url("a")}, {"b", true, url("b")}, {"c", true, url("c")}}},
			{"Put replaces and moves", func() error { return writer.Put(ctx, "", hook("a", "a2"), 9) },
				[]summary{{"b", true, url("b")}, {"c", true, url("c")}, {"a", true, url("a2")}}},
			{"Delete", func() error { return writer.Delete(ctx, "", "b") },
				[]summary{{"c", true, url("c")}, {"a", true, url("a2")}}},
		}
		before := start
		for _, s := range steps {
			if err := s.change(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if diff := cmp.Diff(s.want, served(t, writer)); diff != "" {
				t.Errorf("%s: the writer's triggers mismatch (-want +got):\n%s", s.name, diff)
			}
			clk.advance(time.Minute - time.Nanosecond)
			if diff := cmp.Diff(before, served(t, reader)); diff != "" {
				t.Errorf("%s: the reader's triggers before CheckInterval mismatch (-want +got):\n%s", s.name, diff)
			}
			clk.advance(time.Nanosecond)
			if diff := cmp.Diff(s.want, served(t, reader)); diff != "" {
				t.Errorf("%s: the reader's triggers after CheckInterval mismatch (-want +got):\n%s", s.name, diff)
			}
			if _, err := reader.Trigger(ctx, "", "b"); s.name == "Delete" && !errors.Is(err, trigger.ErrNotFound) {
				t.Errorf("%s: Trigger(b) = %v, want an error matching trigger.ErrNotFound", s.name, err)
			}
			before = s.want
		}
	})
}

// TestBadStoredDefinition: a stored definition that does not load never
// replaces the triggers being served. Reload returns the error, naming
// the trigger and the part at fault; the engine's calls log it once and
// go on serving the triggers loaded before; once the row is mended, the
// next check loads it.
func TestBadStoredDefinition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		definition string
		want       []trigger.Error // TriggerID, Index and Path of each problem
	}{
		{"URL refused", string(hook("a", "x", `"name": "A"`)[:0]) + `{"id": "a", "actions": [{"type": "webhook", "url": "http://10.1.2.3/x"}]}`,
			[]trigger.Error{{TriggerID: "a", Index: 0, Path: "actions[0]"}}},
		{"unknown key", `{"id": "a", "enabeld": true, "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/a"}]}`,
			[]trigger.Error{{TriggerID: "a", Index: 0}}},
		{"bad expression", `{"id": "a", "expression": "Ticket.Nope == 1", "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/a"}]}`,
			[]trigger.Error{{TriggerID: "a", Index: 0, Path: "expression"}}},
		{"not JSON", `{"id": "a", `,
			[]trigger.Error{{TriggerID: "a", Index: 0}}},
		{"two objects", `{"id": "a"}, {"id": "z"}`,
			[]trigger.Error{{TriggerID: "a", Index: 0}}},
		{"id differs", string(hook("z", "a")),
			[]trigger.Error{{TriggerID: "a", Index: 0, Path: "id"}}},
	}
	forEachBackend(t, func(t *testing.T, db *testDB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				db := newTestDB(t, db.b)
				clk := newClock()
				logged := &records{}
				writer := db.source(t, sqlsource.Config{})
				reader := db.source(t, sqlsource.Config{CheckInterval: time.Second, Now: clk.Now, Logger: slog.New(logged)})
				put(t, writer, hook("a", "a"), 1)
				put(t, writer, hook("b", "b"), 2)
				good := []summary{{"a", true, url("a")}, {"b", true, url("b")}}
				if diff := cmp.Diff(good, served(t, reader)); diff != "" {
					t.Fatalf("first load mismatch (-want +got):\n%s", diff)
				}

				// The host edits the row with its own SQL.
				db.exec(t, "UPDATE PREFIX_triggers SET definition = ? WHERE id = ?", tt.definition, "a")
				db.exec(t, "UPDATE PREFIX_trigger_revisions SET revision = revision + 1 WHERE scope = ''")
				for range 2 {
					clk.advance(time.Second)
					if diff := cmp.Diff(good, served(t, reader)); diff != "" {
						t.Errorf("triggers served after the bad edit mismatch (-want +got):\n%s", diff)
					}
				}
				if n := logged.count(); n != 1 {
					t.Errorf("%d records logged over two checks of one bad revision, want 1", n)
				}

				err := reader.Reload(ctx)
				if !errors.Is(err, trigger.ErrInvalid) {
					t.Fatalf("Reload = %v, want an error matching trigger.ErrInvalid", err)
				}
				if !strings.Contains(err.Error(), `trigger "a"`) {
					t.Errorf("Reload's error %q does not name trigger \"a\"", err)
				}
				if diff := cmp.Diff(tt.want, problems(err)); diff != "" {
					t.Errorf("Reload's problems mismatch (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(good, served(t, reader)); diff != "" {
					t.Errorf("triggers served after Reload failed mismatch (-want +got):\n%s", diff)
				}

				// Mended, the row loads at the next check.
				db.exec(t, "UPDATE PREFIX_triggers SET definition = ? WHERE id = ?", string(hook("a", "mended")), "a")
				db.exec(t, "UPDATE PREFIX_trigger_revisions SET revision = revision + 1 WHERE scope = ''")
				clk.advance(time.Second)
				want := []summary{{"a", true, url("mended")}, {"b", true, url("b")}}
				if diff := cmp.Diff(want, served(t, reader)); diff != "" {
					t.Errorf("triggers after the row was mended mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// problems returns the trigger, index and path of each *trigger.Error in
// err.
func problems(err error) []trigger.Error {
	var got []trigger.Error
	var walk func(error)
	walk = func(err error) {
		var te *trigger.Error
		if errors.As(err, &te) && te == err {
			got = append(got, trigger.Error{TriggerID: te.TriggerID, Index: te.Index, Path: te.Path})
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return got
}

// TestPutRefusesInvalid: Put refuses a definition that does not load with
// the Source's Options, with the error Validate returns, and stores
// nothing.
func TestPutRefusesInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		definition string
		want       []trigger.Error
	}{
		{"URL refused", `{"id": "n", "actions": [{"type": "webhook", "url": "https://169.254.169.254/latest"}]}`,
			[]trigger.Error{{TriggerID: "n", Index: 0, Path: "actions[0]"}}},
		{"http refused", `{"id": "n", "actions": [{"type": "webhook", "url": "http://hooks.example.com/"}]}`,
			[]trigger.Error{{TriggerID: "n", Index: 0, Path: "actions[0]"}}},
		{"no actions", `{"id": "n"}`,
			[]trigger.Error{{TriggerID: "n", Index: 0, Path: "actions"}}},
		{"no id", `{"actions": [{"type": "webhook", "url": "https://hooks.example.com/"}]}`,
			[]trigger.Error{{Index: 0, Path: "id"}}},
		{"array", `[{"id": "n", "actions": [{"type": "webhook", "url": "https://hooks.example.com/"}]}]`,
			[]trigger.Error{{Index: -1}}},
		{"two objects", `{"id": "n", "actions": []}, {"id": "m", "actions": []}`,
			[]trigger.Error{{Index: -1}}},
		{"empty", ``, []trigger.Error{{Index: -1}}},
	}
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		s := db.source(t, sqlsource.Config{Options: &trigger.Options{RequireHTTPS: true}})
		put(t, s, []byte(`{"id": "kept", "actions": [{"type": "webhook", "url": "https://hooks.example.com/kept"}]}`), 1)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				verr := s.Validate("", []byte(tt.definition))
				perr := s.Put(ctx, "", []byte(tt.definition), 2)
				for what, err := range map[string]error{"Validate": verr, "Put": perr} {
					if !errors.Is(err, trigger.ErrInvalid) {
						t.Errorf("%s = %v, want an error matching trigger.ErrInvalid", what, err)
					}
					if diff := cmp.Diff(tt.want, problems(err)); diff != "" {
						t.Errorf("%s's problems mismatch (-want +got):\n%s", what, diff)
					}
				}
			})
		}
		if err := s.Validate("", []byte(`{"id": "ok", "actions": [{"type": "webhook", "url": "https://hooks.example.com/"}]}`)); err != nil {
			t.Errorf("Validate of a valid definition = %v, want nil", err)
		}
		fresh := db.source(t, sqlsource.Config{Options: &trigger.Options{RequireHTTPS: true}})
		want := []summary{{"kept", true, "https://hooks.example.com/kept"}}
		if diff := cmp.Diff(want, served(t, fresh)); diff != "" {
			t.Errorf("stored triggers after the refused Puts mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestWriteUnknown: Delete and SetEnabled of an unknown id return
// trigger.ErrNotFound and change nothing.
func TestWriteUnknown(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		s := db.source(t, sqlsource.Config{})
		put(t, s, hook("a", "a"), 1)
		for what, err := range map[string]error{
			"Delete":     s.Delete(ctx, "", "nope"),
			"SetEnabled": s.SetEnabled(ctx, "", "nope", false),
		} {
			if !errors.Is(err, trigger.ErrNotFound) {
				t.Errorf("%s(nope) = %v, want an error matching trigger.ErrNotFound", what, err)
			}
		}
		if diff := cmp.Diff([]summary{{"a", true, url("a")}}, served(t, s)); diff != "" {
			t.Errorf("triggers mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestFirstLoadFails: until the triggers have loaded once, ForTicket and
// Trigger return the load's error; they load once the tables exist.
func TestFirstLoadFails(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		s, err := sqlsource.New(db.pool, sqlsource.Config{Dialect: db.b.dialect, TablePrefix: db.prefix})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if _, err := s.ForTicket(ctx, "", nil); err == nil || !strings.Contains(err.Error(), db.prefix+"trigger_revisions") {
			t.Errorf("ForTicket before Migrate = %v, want an error naming %strigger_revisions", err, db.prefix)
		}
		if _, err := s.Trigger(ctx, "", "a"); err == nil || errors.Is(err, trigger.ErrNotFound) {
			t.Errorf("Trigger before Migrate = %v, want the load's error", err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if got := served(t, s); len(got) != 0 {
			t.Errorf("triggers of an empty table: %v, want none", got)
		}
	})
}

// TestConfig: New refuses a bad configuration, saying what is wrong.
func TestConfig(t *testing.T) {
	t.Parallel()
	db := newTestDB(t, backends[0])
	tests := []struct {
		name    string
		noDB    bool
		cfg     sqlsource.Config
		want    string
		invalid bool // matches trigger.ErrInvalid
	}{
		{name: "no db", noDB: true, cfg: sqlsource.Config{Dialect: sqlsource.SQLite}, want: "db is nil"},
		{name: "no dialect", want: "Dialect Dialect(0) is not"},
		{name: "unknown dialect", cfg: sqlsource.Config{Dialect: 7}, want: "Dialect Dialect(7) is not"},
		{name: "prefix with a dash", cfg: sqlsource.Config{Dialect: sqlsource.SQLite, TablePrefix: "my-"}, want: `TablePrefix "my-" must be`},
		{name: "long prefix", cfg: sqlsource.Config{Dialect: sqlsource.SQLite, TablePrefix: strings.Repeat("a", 33)}, want: "must be at most 32 characters"},
		{name: "negative interval", cfg: sqlsource.Config{Dialect: sqlsource.SQLite, CheckInterval: -time.Second}, want: "CheckInterval -1s is negative"},
		{name: "bad options", cfg: sqlsource.Config{Dialect: sqlsource.SQLite, Options: &trigger.Options{MaxNodes: -1}}, want: "MaxNodes -1 is negative", invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := db.pool
			if tt.noDB {
				pool = nil
			}
			_, err := sqlsource.New(pool, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), "sqlsource: invalid config: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an invalid config error containing %q", err, tt.want)
			}
			if errors.Is(err, trigger.ErrInvalid) != tt.invalid {
				t.Errorf("errors.Is(%v, trigger.ErrInvalid) = %v, want %v", err, !tt.invalid, tt.invalid)
			}
		})
	}
}

// TestConcurrency: ForTicket, Trigger, Put, SetEnabled and Reload called
// at once from many goroutines, with a check at every call, end with the
// last change served (run with -race).
func TestConcurrency(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		writer := db.source(t, sqlsource.Config{})
		reader := db.source(t, sqlsource.Config{CheckInterval: time.Nanosecond})
		put(t, writer, hook("a", "a0"), 1)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		errs := make(chan error, 100)
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					ts, err := reader.ForTicket(ctx, "", nil)
					if err == nil && len(ts) != 1 {
						err = errors.New("ForTicket served no trigger")
					}
					if err == nil {
						_, err = reader.Trigger(ctx, "", "a")
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Go(func() {
			for range 5 {
				if err := reader.Reload(ctx); err != nil {
					errs <- err
					return
				}
			}
		})
		for i := range 6 {
			if err := writer.Put(ctx, "", hook("a", "a"+strings.Repeat("x", i)), 1); err != nil {
				t.Errorf("Put: %v", err)
			}
			if err := writer.SetEnabled(ctx, "", "a", i%2 == 0); err != nil {
				t.Errorf("SetEnabled: %v", err)
			}
		}
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent reader: %v", err)
		}
		want := []summary{{"a", false, url("a" + strings.Repeat("x", 5))}}
		if diff := cmp.Diff(want, served(t, reader)); diff != "" {
			t.Errorf("triggers after the writes mismatch (-want +got):\n%s", diff)
		}
	})
}
