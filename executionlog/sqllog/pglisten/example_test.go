package pglisten_test

import (
	"context"
	"database/sql"
	"log"

	"github.com/tickethooks/tickethooks"
	"github.com/tickethooks/tickethooks/executionlog/sqllog"
	"github.com/tickethooks/tickethooks/executionlog/sqllog/pglisten"
	"github.com/tickethooks/tickethooks/trigger"
)

// Each process of a fleet runs a listener beside its engine: a commit
// anywhere (OnTicketChangeTx in a host transaction included) wakes every
// engine at once.
func ExampleListen() {
	const dsn = "postgres://app@db.internal:5432/helpdesk"
	db, err := sql.Open("pgx", dsn) // or lib/pq: the listener has its own pgx connection
	if err != nil {
		log.Fatal(err)
	}
	execLog, err := sqllog.New(db, sqllog.Config{Dialect: sqllog.Postgres})
	if err != nil {
		log.Fatal(err)
	}
	engine, err := tickethooks.New(tickethooks.Config{Triggers: trigger.NewStore(nil), Log: execLog})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		err := pglisten.Listen(ctx, pglisten.Config{ConnString: dsn, Channel: execLog.Channel(), Wake: engine.Wake})
		if err != nil && ctx.Err() == nil {
			log.Printf("not listening, polling only: %v", err)
		}
	}()

	// ... serve; on shutdown:
	stop()
	engine.Close(context.Background())
}
