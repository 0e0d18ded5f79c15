// Package pglisten wakes engines when entries are committed to a
// PostgreSQL execution log, instead of at their next poll.
//
// On PostgreSQL, every transaction that adds pending entries to a
// sqllog.Log sends a notification on the log's channel (Log.Channel),
// which PostgreSQL delivers when the transaction commits: the host's own
// transaction too, for OnTicketChangeTx. Listen holds one connection that
// listens on the channel and calls wake, normally Engine.Wake, for each
// notification, so that every engine of a fleet looks for due entries at
// once:
//
//	go pglisten.Listen(ctx, pglisten.Config{ConnString: dsn, Channel: log.Channel(), Wake: engine.Wake})
//
// The package uses pgx (github.com/jackc/pgx/v5) for its own connection,
// whatever driver the host's *sql.DB uses. LISTEN needs a session of its
// own: connect it to PostgreSQL directly, not through a pooler in
// transaction mode (PgBouncer's pool_mode=transaction), which would drop
// the notifications. Polling stays the safety net:
// while the connection is down, entries are found at the engine's next
// poll, and Listen calls Wake once it has listened again, for the
// notifications it may have missed.
package pglisten

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Config configures Listen.
type Config struct {
	// ConnString is the PostgreSQL connection string (URL or key=value)
	// of the log's database. Required, unless Connect is set.
	ConnString string
	// Connect, when set, opens the listening connection instead of
	// ConnString, for a host that builds its pgx connections itself
	// (TLS, credentials from a vault).
	Connect func(ctx context.Context) (*pgx.Conn, error)
	// Channel is the log's channel: sqllog.Log.Channel(). Required.
	Channel string
	// Wake is called for each notification (and after each reconnect),
	// normally Engine.Wake. It must not block. Several engines of one
	// process can share a listener: pass a function that wakes each.
	// Required.
	Wake func()
	// Listening, when set, is called each time the listener is
	// listening: first, and after each reconnect. A host can report
	// readiness with it.
	Listening func()
	// Logger receives a line when the connection is lost and when it is
	// back. Defaults to slog.Default().
	Logger *slog.Logger
	// MaxBackoff caps the wait between reconnection attempts, which
	// starts at 100 ms and doubles. Defaults to 5 seconds.
	MaxBackoff time.Duration
}

// Listen listens on cfg.Channel and calls cfg.Wake for each notification
// until ctx ends, reconnecting when the connection breaks. It returns
// ctx's error when ctx ends, and an error at once when cfg is invalid or
// the first connection fails (so that a wrong connection string shows
// when the host starts); later failures are retried, and the loss and
// the recovery of the connection are logged.
func Listen(ctx context.Context, cfg Config) error {
	switch {
	case cfg.ConnString == "" && cfg.Connect == nil:
		return errors.New("pglisten: ConnString or Connect is required")
	case cfg.Channel == "":
		return errors.New("pglisten: Channel is required (sqllog.Log.Channel())")
	case cfg.Wake == nil:
		return errors.New("pglisten: Wake is required (Engine.Wake)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	conn, err := listen(ctx, cfg)
	if err != nil {
		return err
	}
	backoff := 100 * time.Millisecond
	for {
		err := wait(ctx, conn, cfg.Wake)
		closeConn(conn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "pglisten: connection lost; engines poll until it is back",
			slog.String("channel", cfg.Channel), slog.String("error", err.Error()))
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			if conn, err = listen(ctx, cfg); err == nil {
				break
			}
			backoff = min(2*backoff, cfg.MaxBackoff)
		}
		backoff = 100 * time.Millisecond
		cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "pglisten: listening again", slog.String("channel", cfg.Channel))
		// Notifications sent while no one listened are lost: look now.
		cfg.Wake()
	}
}

// listen opens a connection and listens on the channel.
func listen(ctx context.Context, cfg Config) (*pgx.Conn, error) {
	var conn *pgx.Conn
	var err error
	if cfg.Connect != nil {
		conn, err = cfg.Connect(ctx)
	} else {
		conn, err = pgx.Connect(ctx, cfg.ConnString)
	}
	if err != nil {
		return nil, fmt.Errorf("pglisten: connecting: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{cfg.Channel}.Sanitize()); err != nil {
		closeConn(conn)
		return nil, fmt.Errorf("pglisten: LISTEN %s: %w", cfg.Channel, err)
	}
	if cfg.Listening != nil {
		cfg.Listening()
	}
	return conn, nil
}

// wait calls wake for each notification on conn until it fails.
func wait(ctx context.Context, conn *pgx.Conn, wake func()) error {
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}

// closeConn closes conn, giving it a moment to say goodbye.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}
