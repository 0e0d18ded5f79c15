package tickethooks

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/tickethooks/tickethooks/internal/urlcache"
	"github.com/tickethooks/tickethooks/webhook"
)

// DestinationPolicy protects receivers, and the engine's workers, from a
// destination (scheme, host and port) that is slow or failing.
//
// A circuit breaker counts consecutive failed attempts per destination:
// those webhook.Classify calls Transient (transport errors, timeouts, 408,
// 429 and 5xx). Any other answer shows the destination is up and resets
// the count. After FailureThreshold failures
// in a row the destination is paused for CoolDown: its entries stay
// pending, due at the end of the cool-down, with a Note in the log saying
// why, and no attempt is counted against them. Then one delivery probes
// it; success closes the breaker, failure pauses it again.
//
// Breaker state is kept per engine, in memory: engines sharing a SQL log
// each judge a destination by their own attempts. It is also kept per
// tenant: two tenants' webhooks to one host are two destinations, each
// with its own breaker and MaxInFlight, so that one account's failing
// endpoint or flood on a shared host (a chat service's incoming webhooks,
// say) does not pause or crowd out another account's deliveries there.
type DestinationPolicy struct {
	// FailureThreshold is the number of consecutive failures that pauses a
	// destination. Defaults to DefaultFailureThreshold (10).
	FailureThreshold int
	// CoolDown is how long a paused destination waits before a probe.
	// Defaults to DefaultCoolDown (1 minute).
	CoolDown time.Duration
	// MaxInFlight is the number of deliveries in flight to one destination
	// at once, so that one slow receiver cannot hold every worker. Entries
	// over the limit wait, without an attempt counted. Defaults to
	// DefaultMaxInFlight (4).
	MaxInFlight int
	// FailingThreshold is the number of consecutive failures after which
	// Config.OnDestination hears DestinationFailing, and again after each
	// further FailingThreshold failures, so the host can disable the
	// trigger and tell the admin. Defaults to DefaultFailingThreshold
	// (100).
	FailingThreshold int
}

// The defaults of the zero fields of DestinationPolicy.
const (
	DefaultFailureThreshold = 10          // DestinationPolicy.FailureThreshold
	DefaultCoolDown         = time.Minute // DestinationPolicy.CoolDown
	DefaultMaxInFlight      = 4           // DestinationPolicy.MaxInFlight
	DefaultFailingThreshold = 100         // DestinationPolicy.FailingThreshold
)

// withDefaults returns p with its zero fields set to their defaults.
func (p DestinationPolicy) withDefaults() DestinationPolicy {
	if p.FailureThreshold == 0 {
		p.FailureThreshold = DefaultFailureThreshold
	}
	if p.CoolDown == 0 {
		p.CoolDown = DefaultCoolDown
	}
	if p.MaxInFlight == 0 {
		p.MaxInFlight = DefaultMaxInFlight
	}
	if p.FailingThreshold == 0 {
		p.FailingThreshold = DefaultFailingThreshold
	}
	return p
}

func (p DestinationPolicy) validate() error {
	if p.FailureThreshold < 0 || p.CoolDown < 0 || p.MaxInFlight < 0 || p.FailingThreshold < 0 {
		return fmt.Errorf("Destinations: values must not be negative")
	}
	return nil
}

// DestinationEventKind says what happened to a destination.
type DestinationEventKind int

// The destination events reported to Config.OnDestination.
const (
	// DestinationPaused: the breaker opened after FailureThreshold
	// consecutive failures; deliveries wait until PausedUntil.
	DestinationPaused DestinationEventKind = iota + 1
	// DestinationRecovered: a delivery succeeded after a pause.
	DestinationRecovered
	// DestinationFailing: the destination has failed
	// ConsecutiveFailures times in a row, a multiple of FailingThreshold.
	DestinationFailing
	// DestinationGone: the receiver answered 410 Gone. The delivery
	// failed without retries; the host should disable the trigger.
	DestinationGone
)

// String returns the kind's name.
func (k DestinationEventKind) String() string {
	switch k {
	case DestinationPaused:
		return "paused"
	case DestinationRecovered:
		return "recovered"
	case DestinationFailing:
		return "failing"
	case DestinationGone:
		return "gone"
	}
	return fmt.Sprintf("DestinationEventKind(%d)", int(k))
}

// DestinationEvent tells the host about a destination's health.
type DestinationEvent struct {
	Kind DestinationEventKind
	// Destination is the scheme, host and port, such as
	// "https://example.com:443".
	Destination string
	// Tenant is the tenant whose deliveries to Destination caused the
	// event: the engine keeps each tenant's destinations apart.
	Tenant string
	// TriggerID and EntryID identify the delivery whose attempt caused
	// the event; the trigger is Tenant's.
	TriggerID string
	EntryID   string
	// ConsecutiveFailures is the destination's count of failures in a row.
	ConsecutiveFailures int
	// PausedUntil is when a paused destination is probed.
	PausedUntil time.Time
	// At is when the event happened.
	At time.Time
}

// destinationKey returns the destination of a webhook URL.
func destinationKey(raw string) string {
	u, err := urlcache.Parse(raw)
	if err != nil {
		return webhook.InvalidURL // never the URL itself: it may hold secrets
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return u.Scheme + "://" + net.JoinHostPort(host, port)
}

// destinations tracks the health and load of every destination.
type destinations struct {
	policy DestinationPolicy
	mu     sync.Mutex
	m      map[destKey]*destinationState
}

// destKey identifies a destination: tenants' destinations are kept
// apart, so that one tenant's failing or flooded endpoint neither pauses
// nor fills another tenant's deliveries to the same host.
type destKey struct {
	tenant, dest string
}

type destinationState struct {
	inFlight  int
	failures  int
	openUntil time.Time // zero while the breaker is closed
	probing   bool      // the one delivery allowed after the cool-down is in flight

	lastRelease time.Time // when a slot last freed
	nextBusy    time.Time // when the next entry turned away is due
}

// busyWait is how long an entry waits when its destination has
// MaxInFlight deliveries in flight.
const busyWait = 100 * time.Millisecond

// acquire reserves a delivery slot for key. When the destination cannot
// take the delivery now it returns when to try again and, for a pause, a
// note saying why.
func (d *destinations) acquire(tenant, key string, now time.Time) (retryAt time.Time, note string, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.m[destKey{tenant, key}]
	if st == nil {
		st = &destinationState{lastRelease: now}
		d.m[destKey{tenant, key}] = st
	}
	if !st.openUntil.IsZero() {
		if now.Before(st.openUntil) {
			return st.openUntil, fmt.Sprintf("destination %s paused until %s after %d consecutive failures",
				key, st.openUntil.Format(time.RFC3339), st.failures), false
		}
		if st.probing {
			return now.Add(min(time.Second, d.policy.CoolDown)), fmt.Sprintf("destination %s is being probed after %d consecutive failures",
				key, st.failures), false
		}
	}
	if st.inFlight >= d.policy.MaxInFlight {
		at := now.Add(busyWait)
		if now.Sub(st.lastRelease) > busyWait {
			// No slot has freed for a while (a slow or hanging
			// receiver): space the waiting entries out, so that a
			// backlog is not written back to the log every busyWait.
			if st.nextBusy.After(at) {
				at = st.nextBusy
			}
			st.nextBusy = at.Add(busyWait / time.Duration(d.policy.MaxInFlight))
		}
		return at, "", false
	}
	if !st.openUntil.IsZero() {
		st.probing = true // this delivery is the probe
	}
	st.inFlight++
	return time.Time{}, "", true
}

// release returns the slot acquire reserved and records the attempt's
// outcome o (NotSent when the attempt was cut short), returning the events
// it causes; gone says the receiver answered 410.
func (d *destinations) release(tenant, key string, o webhook.Outcome, gone bool, now time.Time) []DestinationEvent {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.m[destKey{tenant, key}]
	if st == nil {
		return nil
	}
	st.inFlight--
	st.lastRelease = now
	var events []DestinationEvent
	switch o {
	case webhook.NotSent:
		st.probing = false
	case webhook.Delivered, webhook.Rejected:
		if !st.openUntil.IsZero() {
			events = append(events, DestinationEvent{Kind: DestinationRecovered, ConsecutiveFailures: st.failures})
		}
		st.failures, st.openUntil, st.probing = 0, time.Time{}, false
	case webhook.Transient:
		st.failures++
		switch {
		case st.probing:
			st.probing = false
			st.openUntil = now.Add(d.policy.CoolDown)
		case st.openUntil.IsZero() && st.failures >= d.policy.FailureThreshold:
			st.openUntil = now.Add(d.policy.CoolDown)
			events = append(events, DestinationEvent{Kind: DestinationPaused, ConsecutiveFailures: st.failures, PausedUntil: st.openUntil})
		}
		if st.failures%d.policy.FailingThreshold == 0 {
			events = append(events, DestinationEvent{Kind: DestinationFailing, ConsecutiveFailures: st.failures})
		}
	}
	if gone {
		events = append(events, DestinationEvent{Kind: DestinationGone, ConsecutiveFailures: st.failures})
	}
	if st.inFlight == 0 && st.failures == 0 && st.openUntil.IsZero() {
		delete(d.m, destKey{tenant, key})
	}
	for i := range events {
		events[i].Tenant, events[i].Destination, events[i].At = tenant, key, now
	}
	return events
}
