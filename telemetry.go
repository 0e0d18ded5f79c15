package tickethooks

import (
	"context"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/tickethooks/tickethooks/executionlog"
	"github.com/tickethooks/tickethooks/internal/urlcache"
	"github.com/tickethooks/tickethooks/webhook"
)

// instrumentationName names the library to OpenTelemetry.
const instrumentationName = "github.com/tickethooks/tickethooks"

// telemetry holds the engine's OpenTelemetry instruments. With the default
// (global) providers and no SDK installed by the host, every call is a
// no-op.
type telemetry struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	fired      metric.Int64Counter
	failed     metric.Int64Counter
	deliveries metric.Int64Counter
	attempts   metric.Int64Counter
	latency    metric.Float64Histogram
	pending    metric.Int64UpDownCounter

	tenantMetric bool // TenantPolicy.MetricAttribute
}

// tenantKey is the attribute that names the tenant on spans and, with
// TenantPolicy.MetricAttribute, on metrics.
const tenantKey = "tickethooks.tenant"

// tenant returns the measurement options of a metric without attributes
// of its own: the tenant, when metrics carry it and it is not "".
func (t *telemetry) tenant(tenant string) []metric.AddOption {
	if !t.tenantMetric || tenant == "" {
		return nil
	}
	return []metric.AddOption{metric.WithAttributes(attribute.String(tenantKey, tenant))}
}

// with returns base, the prebuilt attributes of a measurement, with the
// tenant added when metrics carry it and it is not "".
func (t *telemetry) with(tenant string, base metric.MeasurementOption, kv attribute.KeyValue) metric.MeasurementOption {
	if !t.tenantMetric || tenant == "" {
		return base
	}
	return metric.WithAttributes(kv, attribute.String(tenantKey, tenant))
}

func newTelemetry(mp metric.MeterProvider, tp trace.TracerProvider, prop propagation.TextMapPropagator) (*telemetry, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if prop == nil {
		prop = propagation.TraceContext{}
	}
	m := mp.Meter(instrumentationName, metric.WithInstrumentationVersion(webhook.Version))
	t := &telemetry{tracer: tp.Tracer(instrumentationName, trace.WithInstrumentationVersion(webhook.Version)), propagator: prop}
	var err error
	if t.fired, err = m.Int64Counter("tickethooks.triggers.fired",
		metric.WithDescription("Triggers whose conditions held on a ticket change."), metric.WithUnit("{trigger}")); err != nil {
		return nil, err
	}
	if t.failed, err = m.Int64Counter("tickethooks.triggers.failed",
		metric.WithDescription("Trigger evaluations that failed, such as an expression over its run-time budget; the trigger was skipped for that change."),
		metric.WithUnit("{trigger}")); err != nil {
		return nil, err
	}
	if t.deliveries, err = m.Int64Counter("tickethooks.deliveries",
		metric.WithDescription("Deliveries that ended, by outcome (succeeded or failed)."), metric.WithUnit("{delivery}")); err != nil {
		return nil, err
	}
	if t.attempts, err = m.Int64Counter("tickethooks.attempts",
		metric.WithDescription("Delivery attempts, by HTTP status class (2xx, 3xx, 4xx, 5xx, or error when no response came)."), metric.WithUnit("{attempt}")); err != nil {
		return nil, err
	}
	if t.latency, err = m.Float64Histogram("tickethooks.attempt.duration",
		metric.WithDescription("Duration of delivery attempts, from sending the request to reading the response."), metric.WithUnit("s")); err != nil {
		return nil, err
	}
	if t.pending, err = m.Int64UpDownCounter("tickethooks.deliveries.pending",
		metric.WithDescription("Deliveries recorded and not yet ended: added by this engine, minus ended by it. Summed over a fleet sharing a log, it is the fleet's pending count."),
		metric.WithUnit("{delivery}")); err != nil {
		return nil, err
	}
	return t, nil
}

// startAttempt starts the span of one delivery attempt and injects its
// W3C trace context into the request headers.
func (t *telemetry) startAttempt(ctx context.Context, en executionlog.Entry, req *httpRequestInfo) (context.Context, trace.Span) {
	ctx, span := t.tracer.Start(ctx, "tickethooks.deliver", clientSpan)
	if !span.IsRecording() {
		// No tracing SDK, or this span is not sampled: skip the work.
		return ctx, span
	}
	span.SetAttributes(
		attribute.String("server.address", hostOf(req.url)),
		attribute.String("http.request.method", http.MethodPost),
		attribute.Int("tickethooks.attempt", req.attempt),
		attribute.String("tickethooks.entry_id", en.ID),
		attribute.String("tickethooks.trigger_id", en.TriggerID),
		attribute.Int("tickethooks.ticket_id", en.TicketID),
	)
	if en.Tenant != "" {
		span.SetAttributes(attribute.String(tenantKey, en.Tenant))
	}
	t.propagator.Inject(ctx, propagation.HeaderCarrier(req.header))
	return ctx, span
}

// clientSpan is the option of every attempt's span, made once.
var clientSpan = trace.WithSpanKind(trace.SpanKindClient)

// httpRequestInfo is what a span needs of a request.
type httpRequestInfo struct {
	url     string
	attempt int
	header  http.Header
}

// endAttempt records an attempt's result on its span and in the metrics.
func (t *telemetry) endAttempt(ctx context.Context, tenant string, span trace.Span, resp *webhook.Response, err error) {
	class := "error"
	recording := span.IsRecording()
	if err == nil && resp != nil {
		class = statusClass(resp.StatusCode)
		t.latency.Record(ctx, resp.Duration.Seconds(), t.with(tenant, classAttrs(class), attribute.String("status_class", class)))
		if recording {
			span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
			if !resp.Success() {
				span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
			}
		}
	} else if err != nil && recording {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	t.attempts.Add(ctx, 1, t.with(tenant, classAttrs(class), attribute.String("status_class", class)))
	span.End()
}

// ended counts a delivery that reached a final state.
func (t *telemetry) ended(ctx context.Context, tenant string, status executionlog.Status) {
	t.deliveries.Add(ctx, 1, t.outcome(tenant, status))
	t.pending.Add(ctx, -1, t.tenant(tenant)...)
}

// outcome returns the attributes of a delivery of tenant that ended in
// status.
func (t *telemetry) outcome(tenant string, status executionlog.Status) metric.MeasurementOption {
	return t.with(tenant, outcomeAttrs(status), attribute.String("outcome", string(status)))
}

// The attribute sets of the metrics, built once: building a set sorts and
// hashes its attributes, which every attempt would otherwise pay.
var (
	classSets   = attrOptions("status_class", "1xx", "2xx", "3xx", "4xx", "5xx", "error")
	outcomeSets = attrOptions("outcome", string(executionlog.StatusSucceeded), string(executionlog.StatusFailed),
		string(executionlog.StatusPending))
)

// attrOptions returns, for each value, the measurement option that sets
// the attribute key to it.
func attrOptions(key string, values ...string) map[string]metric.MeasurementOption {
	m := make(map[string]metric.MeasurementOption, len(values))
	for _, v := range values {
		m[v] = metric.WithAttributeSet(attribute.NewSet(attribute.String(key, v)))
	}
	return m
}

// classAttrs returns the attributes of an attempt whose status class is
// class.
func classAttrs(class string) metric.MeasurementOption {
	if o, ok := classSets[class]; ok {
		return o
	}
	return metric.WithAttributes(attribute.String("status_class", class))
}

// outcomeAttrs returns the attributes of a delivery that ended in status.
func outcomeAttrs(status executionlog.Status) metric.MeasurementOption {
	if o, ok := outcomeSets[string(status)]; ok {
		return o
	}
	return metric.WithAttributes(attribute.String("outcome", string(status)))
}

// hostOf returns the host of a URL for span attributes.
func hostOf(raw string) string {
	if u, err := urlcache.Parse(raw); err == nil {
		return u.Hostname()
	}
	return ""
}

// statusClass returns "2xx" for 200 to 299, and so on.
func statusClass(code int) string {
	switch code / 100 {
	case 1:
		return "1xx"
	case 2:
		return "2xx"
	case 3:
		return "3xx"
	case 4:
		return "4xx"
	case 5:
		return "5xx"
	}
	return strconv.Itoa(code/100) + "xx"
}
