// Command benchratio runs the benchmark suite described in BENCHMARKS.md
// and prints, for each benchmark and its baseline, the median ratio and
// whether the target is met.
//
//	go run ./internal/benchratio            # the suite, 6 rounds
//	go run ./internal/benchratio -big       # the million-entry part (TICKETHOOKS_BIG)
//	go run ./internal/benchratio -parse results.txt   # only the table, from saved output
//
// It builds each package's test binary once, so that the rounds measure
// the same code, then runs every benchmark once per round (-count rounds),
// the benchmarks of one round next to each other: on a noisy machine the
// ratio of a benchmark to its baseline holds better than either time. The
// raw output is kept in -out (results.txt, in the format benchstat
// reads); when benchstat is installed it also prints its summary.
//
// PostgreSQL benchmarks run when TICKETHOOKS_POSTGRES_DSN is set.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// suite is one package's benchmarks.
type suite struct {
	pkg   string // directory, relative to the module root
	bench string // -test.bench pattern
	// once runs the suite in the first round only, with -test.benchtime
	// 1x: a measurement rather than a timing loop.
	once bool
}

var (
	quick = []suite{
		{pkg: "trigger", bench: "^(BenchmarkExpressionTrigger|BenchmarkExpressionTriggerVM|BenchmarkExpressionTriggerPerChange|BenchmarkStructuredCondition|BenchmarkAttributeCondition|BenchmarkRender|BenchmarkTriggerSet|BenchmarkTriggerSetVM)$"},
		{pkg: "executionlog", bench: "^(BenchmarkMemoryBytesPerEntry|BenchmarkMemoryCycle)$"},
		{pkg: "executionlog/sqllog", bench: "^(BenchmarkLogCycle|BenchmarkLogCycleParallel)$"},
		{pkg: ".", bench: "^(BenchmarkOnTicketChange|BenchmarkDelivery)$"},
	}
	big = []suite{
		{pkg: "executionlog/sqllog", bench: "^BenchmarkBigQuery$"},
		{pkg: ".", bench: "^BenchmarkHeapPending1M$", once: true},
	}
)

// check is one line of the targets table: a benchmark's median, alone or
// over its baseline's, against a target.
type check struct {
	what string
	ours string // benchmark name, without the -GOMAXPROCS suffix
	base string // baseline benchmark; "" for an absolute value
	unit string // unit compared; "ops/s" is derived from ns/op
	// baseUnit is the baseline's unit when it differs from unit.
	baseUnit string
	// op and target: ratio (or value) op target must hold. An empty op
	// is a ratio reported without a target.
	op     string
	target float64
}

// d is a shorthand for the delivery benchmarks' names.
func d(w int, rest string) string { return fmt.Sprintf("BenchmarkDelivery/workers=%d/%s", w, rest) }

var checks = []check{
	{what: "expression trigger vs raw expr, time", ours: "BenchmarkExpressionTrigger/impl=ours", base: "BenchmarkExpressionTrigger/impl=raw", unit: "ns/op", op: "<=", target: 1.1},
	{what: "expression trigger, allocs/op", ours: "BenchmarkExpressionTrigger/impl=ours", unit: "allocs/op", op: "<=", target: 0},
	{what: "expression trigger on expr's VM vs raw expr, time", ours: "BenchmarkExpressionTriggerVM/impl=ours", base: "BenchmarkExpressionTriggerVM/impl=raw", unit: "ns/op", op: "<=", target: 1.1},
	{what: "expression trigger on expr's VM, allocs/op", ours: "BenchmarkExpressionTriggerVM/impl=ours", unit: "allocs/op", op: "<=", target: 0},
	{what: "expression trigger + NewEvent vs raw + boxing Env", ours: "BenchmarkExpressionTriggerPerChange/impl=ours", base: "BenchmarkExpressionTriggerPerChange/impl=raw", unit: "ns/op"},
	{what: "condition is, ns/cond", ours: "BenchmarkStructuredCondition/op=is/impl=ours", unit: "ns/cond", op: "<=", target: 30},
	{what: "condition changed_to, ns/cond", ours: "BenchmarkStructuredCondition/op=changed_to/impl=ours", unit: "ns/cond", op: "<=", target: 30},
	{what: "condition greater_than, ns/cond", ours: "BenchmarkStructuredCondition/op=greater_than/impl=ours", unit: "ns/cond", op: "<=", target: 30},
	{what: "three conditions, ns/cond", ours: "BenchmarkStructuredCondition/op=all_three/impl=ours", unit: "ns/cond", op: "<=", target: 30},
	{what: "three conditions, allocs/op", ours: "BenchmarkStructuredCondition/op=all_three/impl=ours", unit: "allocs/op", op: "<=", target: 0},
	{what: "attribute condition is vs packet field, ns/cond", ours: "BenchmarkAttributeCondition/op=is/impl=attr", base: "BenchmarkAttributeCondition/op=is/impl=field", unit: "ns/cond"},
	{what: "attribute tag added vs packet field changed_to, ns/cond", ours: "BenchmarkAttributeCondition/op=tag_added/impl=attr", base: "BenchmarkAttributeCondition/op=tag_added/impl=field", unit: "ns/cond"},
	{what: "three attribute conditions vs three field ones, ns/cond", ours: "BenchmarkAttributeCondition/op=all_three/impl=attr", base: "BenchmarkAttributeCondition/op=all_three/impl=field", unit: "ns/cond"},
	{what: "three attribute conditions, allocs/op", ours: "BenchmarkAttributeCondition/op=all_three/impl=attr", unit: "allocs/op", op: "<=", target: 0},
	{what: "render Slack template vs payload.Encode, time", ours: "BenchmarkRender/body=slack/impl=ours", base: "BenchmarkRender/impl=encode", unit: "ns/op"},
	{what: "render CRM template (8 keys) vs payload.Encode, time", ours: "BenchmarkRender/body=crm/impl=ours", base: "BenchmarkRender/impl=encode", unit: "ns/op"},
	{what: "render without template vs payload.Encode, time", ours: "BenchmarkRender/body=packet/impl=ours", base: "BenchmarkRender/impl=encode", unit: "ns/op", op: "<=", target: 1.2},
	{what: "set of 1 expression trigger, no match, vs raw", ours: "BenchmarkTriggerSet/kind=expression/n=1/match=none/impl=ours", base: "BenchmarkTriggerSet/kind=expression/n=1/match=none/impl=raw", unit: "ns/op"},
	{what: "set of 100 expression triggers, one match, vs raw", ours: "BenchmarkTriggerSet/kind=expression/n=100/match=one/impl=ours", base: "BenchmarkTriggerSet/kind=expression/n=100/match=one/impl=raw", unit: "ns/op"},
	{what: "set of 1000 expression triggers, no match, vs raw", ours: "BenchmarkTriggerSet/kind=expression/n=1000/match=none/impl=ours", base: "BenchmarkTriggerSet/kind=expression/n=1000/match=none/impl=raw", unit: "ns/op"},
	{what: "set of 1000 VM expression triggers, no match, vs raw", ours: "BenchmarkTriggerSetVM/n=1000/match=none/impl=ours", base: "BenchmarkTriggerSetVM/n=1000/match=none/impl=raw", unit: "ns/op"},
	{what: "set of 1000 structured triggers, no match, ns/op", ours: "BenchmarkTriggerSet/kind=structured/n=1000/match=none/impl=ours", unit: "ns/op"},
	{what: "OnTicketChange, 100 triggers, one match, vs floor", ours: "BenchmarkOnTicketChange/triggers=100/match=one/kind=mixed/impl=ours", base: "BenchmarkOnTicketChange/triggers=100/match=one/kind=mixed/impl=floor", unit: "ns/op"},
	{what: "OnTicketChange, 100 triggers, one match, allocs/op", ours: "BenchmarkOnTicketChange/triggers=100/match=one/kind=mixed/impl=ours", unit: "allocs/op"},
	{what: "OnTicketChange, 1000 structured, no match, ns/op", ours: "BenchmarkOnTicketChange/triggers=1000/match=none/kind=structured/impl=ours", unit: "ns/op", op: "<=", target: 100_000},
	{what: "OnTicketChange, 1000 mixed, no match, ns/op", ours: "BenchmarkOnTicketChange/triggers=1000/match=none/kind=mixed/impl=ours", unit: "ns/op", op: "<=", target: 100_000},
	{what: "OnTicketChange, 1000 expression, no match, ns/op", ours: "BenchmarkOnTicketChange/triggers=1000/match=none/kind=expression/impl=ours", unit: "ns/op", op: "<=", target: 100_000},
	{what: "e2e memory log, 8 workers, vs net/http", ours: d(8, "log=memory/impl=ours"), base: d(8, "impl=nethttp"), unit: "deliveries/s"},
	{what: "e2e memory log, 64 workers, vs net/http", ours: d(64, "log=memory/impl=ours"), base: d(64, "impl=nethttp"), unit: "deliveries/s", op: ">=", target: 0.8},
	{what: "e2e SQLite, 8 workers, vs net/http", ours: d(8, "log=sqlite/impl=ours"), base: d(8, "impl=nethttp"), unit: "deliveries/s", op: ">=", target: 0.5},
	{what: "e2e SQLite, 64 workers, vs net/http", ours: d(64, "log=sqlite/impl=ours"), base: d(64, "impl=nethttp"), unit: "deliveries/s", op: ">=", target: 0.5},
	{what: "e2e SQLite, 8 workers, vs raw SQL", ours: d(8, "log=sqlite/impl=ours"), base: d(8, "log=sqlite/impl=rawsql"), unit: "deliveries/s", op: ">=", target: 0.8},
	{what: "e2e SQLite, 64 workers, vs raw SQL", ours: d(64, "log=sqlite/impl=ours"), base: d(64, "log=sqlite/impl=rawsql"), unit: "deliveries/s", op: ">=", target: 0.8},
	{what: "e2e PostgreSQL, 8 workers, vs raw SQL", ours: d(8, "log=postgres/impl=ours"), base: d(8, "log=postgres/impl=rawsql"), unit: "deliveries/s", op: ">=", target: 0.8},
	{what: "e2e PostgreSQL, 64 workers, vs raw SQL", ours: d(64, "log=postgres/impl=ours"), base: d(64, "log=postgres/impl=rawsql"), unit: "deliveries/s", op: ">=", target: 0.8},
	{what: "e2e memory log, 8 workers, 1,000 tenants vs one", ours: d(8, "log=memory/impl=tenants"), base: d(8, "log=memory/impl=ours"), unit: "deliveries/s", op: ">=", target: 0.9},
	{what: "e2e SQLite, 8 workers, 1,000 tenants vs one", ours: d(8, "log=sqlite/impl=tenants"), base: d(8, "log=sqlite/impl=ours"), unit: "deliveries/s", op: ">=", target: 0.9},
	{what: "e2e PostgreSQL, 8 workers, 1,000 tenants vs one", ours: d(8, "log=postgres/impl=tenants"), base: d(8, "log=postgres/impl=ours"), unit: "deliveries/s", op: ">=", target: 0.9},
	{what: "e2e memory log, 64 workers, 1,000 tenants vs one", ours: d(64, "log=memory/impl=tenants"), base: d(64, "log=memory/impl=ours"), unit: "deliveries/s", op: ">=", target: 0.9},
	{what: "e2e SQLite, 64 workers, 1,000 tenants vs one", ours: d(64, "log=sqlite/impl=tenants"), base: d(64, "log=sqlite/impl=ours"), unit: "deliveries/s", op: ">=", target: 0.9},
	{what: "e2e PostgreSQL, 64 workers, 1,000 tenants vs one", ours: d(64, "log=postgres/impl=tenants"), base: d(64, "log=postgres/impl=ours"), unit: "deliveries/s", op: ">=", target: 0.9},
	{what: "SQLite log cycle vs raw SQL, cycles/s", ours: "BenchmarkLogCycle/db=sqlite/impl=ours", base: "BenchmarkLogCycle/db=sqlite/impl=rawsql", unit: "ops/s", op: ">=", target: 0.8},
	{what: "PostgreSQL log cycle vs raw SQL, cycles/s", ours: "BenchmarkLogCycle/db=postgres/impl=ours", base: "BenchmarkLogCycle/db=postgres/impl=rawsql", unit: "ops/s", op: ">=", target: 0.8},
	{what: "SQLite log cycle, 8 goroutines, vs raw SQL", ours: "BenchmarkLogCycleParallel/log=sqlite/workers=8/impl=ours", base: "BenchmarkLogCycleParallel/log=sqlite/workers=8/impl=rawsql", unit: "ops/s", op: ">=", target: 0.8},
	{what: "SQLite log cycle, 64 goroutines, vs raw SQL", ours: "BenchmarkLogCycleParallel/log=sqlite/workers=64/impl=ours", base: "BenchmarkLogCycleParallel/log=sqlite/workers=64/impl=rawsql", unit: "ops/s", op: ">=", target: 0.8},
	{what: "PostgreSQL log cycle, 8 goroutines, vs raw SQL", ours: "BenchmarkLogCycleParallel/log=postgres/workers=8/impl=ours", base: "BenchmarkLogCycleParallel/log=postgres/workers=8/impl=rawsql", unit: "ops/s", op: ">=", target: 0.8},
	{what: "PostgreSQL log cycle, 64 goroutines, vs raw SQL", ours: "BenchmarkLogCycleParallel/log=postgres/workers=64/impl=ours", base: "BenchmarkLogCycleParallel/log=postgres/workers=64/impl=rawsql", unit: "ops/s", op: ">=", target: 0.8},
	{what: "memory log cycle, full log vs room", ours: "BenchmarkMemoryCycle/state=full", base: "BenchmarkMemoryCycle/state=room", unit: "ns/op"},
	{what: "memory log bytes/entry vs payload bytes", ours: "BenchmarkMemoryBytesPerEntry", base: "BenchmarkMemoryBytesPerEntry", unit: "bytes/entry", baseUnit: "payload-bytes/entry"},
	// The million-entry part.
	{what: "1M SQLite: one ticket, ns/op", ours: "BenchmarkBigQuery/db=sqlite/q=ticket", unit: "ns/op", op: "<=", target: 2e6},
	{what: "1M SQLite: newest page of a day, ns/op", ours: "BenchmarkBigQuery/db=sqlite/q=day", unit: "ns/op", op: "<=", target: 2e6},
	{what: "1M SQLite: rare error text, ns/op", ours: "BenchmarkBigQuery/db=sqlite/q=error_rare", unit: "ns/op", op: "<=", target: 200e6},
	{what: "1M SQLite: common error text, ns/op", ours: "BenchmarkBigQuery/db=sqlite/q=error_common", unit: "ns/op", op: "<=", target: 200e6},
	{what: "1M SQLite: status failed page, ns/op", ours: "BenchmarkBigQuery/db=sqlite/q=failed", unit: "ns/op"},
	{what: "1M PostgreSQL: one ticket, ns/op", ours: "BenchmarkBigQuery/db=postgres/q=ticket", unit: "ns/op"},
	{what: "1M PostgreSQL: newest page of a day, ns/op", ours: "BenchmarkBigQuery/db=postgres/q=day", unit: "ns/op"},
	{what: "1M PostgreSQL: rare error text, ns/op", ours: "BenchmarkBigQuery/db=postgres/q=error_rare", unit: "ns/op"},
	{what: "1M PostgreSQL: common error text, ns/op", ours: "BenchmarkBigQuery/db=postgres/q=error_common", unit: "ns/op"},
	{what: "1M PostgreSQL: status failed page, ns/op", ours: "BenchmarkBigQuery/db=postgres/q=failed", unit: "ns/op"},
	{what: "heap, engine on 1M pending SQLite entries, MiB", ours: "BenchmarkHeapPending1M", unit: "heap-MiB", op: "<=", target: 64},
}

func main() {
	count := flag.Int("count", 6, "rounds: runs of each benchmark")
	benchtime := flag.String("benchtime", "1s", "-test.benchtime of each run")
	bigPart := flag.Bool("big", false, "run the million-entry part (sets TICKETHOOKS_BIG=1)")
	out := flag.String("out", "", "directory for the binaries and results.txt (default: a new temporary directory)")
	parse := flag.String("parse", "", "print the table from this saved output instead of running")
	flag.Parse()

	if *parse != "" {
		f, err := os.Open(*parse)
		if err != nil {
			fatal(err)
		}
		defer f.Close()
		report(os.Stdout, readResults(f), *parse)
		return
	}
	if err := run(*count, *benchtime, *bigPart, *out); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchratio:", err)
	os.Exit(1)
}

// run builds the binaries, runs the rounds and prints the table.
func run(count int, benchtime string, bigPart bool, out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if out == "" {
		if out, err = os.MkdirTemp("", "benchratio-"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	suites := quick
	env := os.Environ()
	if bigPart {
		suites = big
		cache := filepath.Join(out, "big-cache")
		if err := os.MkdirAll(cache, 0o755); err != nil {
			return err
		}
		defer os.RemoveAll(cache)
		env = append(env, "TICKETHOOKS_BIG=1", "TICKETHOOKS_BIG_DIR="+cache)
	}
	fmt.Fprintf(os.Stderr, "benchratio: %d CPUs, load average %s; output in %s\n", runtime.NumCPU(), loadAverage(), out)

	binaries := map[string]string{}
	for _, s := range suites {
		if _, ok := binaries[s.pkg]; ok {
			continue
		}
		bin := filepath.Join(out, strings.NewReplacer("/", "_", ".", "root").Replace(s.pkg)+".test")
		cmd := exec.Command("go", "test", "-c", "-o", bin, "./"+s.pkg)
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s: %w", s.pkg, err)
		}
		binaries[s.pkg] = bin
	}

	resultsPath := filepath.Join(out, "results.txt")
	results, err := os.Create(resultsPath)
	if err != nil {
		return err
	}
	defer results.Close()
	start := time.Now()
	for round := 1; round <= count; round++ {
		fmt.Fprintf(os.Stderr, "benchratio: round %d of %d (%v so far)\n", round, count, time.Since(start).Round(time.Second))
		for _, s := range suites {
			if s.once && round > 1 {
				continue
			}
			bt := benchtime
			if s.once {
				bt = "1x"
			}
			cmd := exec.Command(binaries[s.pkg], "-test.run", "^$", "-test.bench", s.bench, "-test.benchmem",
				"-test.count", "1", "-test.benchtime", bt, "-test.timeout", "90m")
			cmd.Dir, cmd.Env = filepath.Join(root, s.pkg), env
			// Benchmark lines go to the results and, as progress, to
			// stderr.
			cmd.Stdout = io.MultiWriter(results, &progress{})
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("round %d, %s: %w", round, s.pkg, err)
			}
		}
	}
	if bigPart && os.Getenv("TICKETHOOKS_POSTGRES_DSN") != "" {
		cmd := exec.Command(binaries["executionlog/sqllog"], "-test.run", "^TestBigBenchDrop$")
		cmd.Dir, cmd.Env = filepath.Join(root, "executionlog/sqllog"), append(env, "TICKETHOOKS_BIG_DROP=1")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("dropping the kept PostgreSQL tables: %w", err)
		}
	}
	if err := results.Close(); err != nil {
		return err
	}
	f, err := os.Open(resultsPath)
	if err != nil {
		return err
	}
	defer f.Close()
	report(os.Stdout, readResults(f), resultsPath)
	fmt.Printf("\n%d rounds in %v; load average now %s\n", count, time.Since(start).Round(time.Second), loadAverage())
	return nil
}

// progress echoes benchmark result lines to stderr, whole lines only.
type progress struct{ partial []byte }

func (p *progress) Write(b []byte) (int, error) {
	p.partial = append(p.partial, b...)
	for {
		i := slices.Index(p.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(p.partial[:i])
		p.partial = p.partial[i+1:]
		if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "---") || strings.Contains(line, "FAIL") {
			fmt.Fprintln(os.Stderr, "  "+line)
		}
	}
}

// moduleRoot returns the directory of go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside a module")
	}
	return filepath.Dir(mod), nil
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// results maps a benchmark name (without -GOMAXPROCS) and a unit to the
// values of every run.
type results map[string]map[string][]float64

var procSuffix = regexp.MustCompile(`-\d+$`)

// readResults parses benchmark lines in the standard format.
func readResults(r io.Reader) results {
	res := results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(f[0], "")
		if res[name] == nil {
			res[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			res[name][f[i+1]] = append(res[name][f[i+1]], v)
		}
	}
	return res
}

// median returns the median of the runs of name in unit ("ops/s" is
// derived from ns/op) and how many runs there were.
func (r results) median(name, unit string) (float64, int, bool) {
	u := unit
	if unit == "ops/s" {
		u = "ns/op"
	}
	vs := slices.Clone(r[name][u])
	if len(vs) == 0 {
		return 0, 0, false
	}
	slices.Sort(vs)
	m := vs[len(vs)/2]
	if len(vs)%2 == 0 {
		m = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
	}
	if unit == "ops/s" {
		m = 1e9 / m
	}
	return m, len(vs), true
}

// report prints the targets table in Markdown, then benchstat's summary
// when benchstat is installed.
func report(w io.Writer, r results, path string) {
	fmt.Fprintln(w, "| check | ours (median) | baseline (median) | ratio | target | result |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	met, missed := 0, 0
	for _, c := range checks {
		ours, n, ok := r.median(c.ours, c.unit)
		if !ok {
			continue
		}
		row := []string{c.what, fmt.Sprintf("%s %s (n=%d)", num(ours), c.unit, n), "", "", "", ""}
		value := ours
		if c.base != "" {
			bu := c.unit
			if c.baseUnit != "" {
				bu = c.baseUnit
			}
			base, bn, ok := r.median(c.base, bu)
			if !ok {
				row[2] = "not run"
				fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
				continue
			}
			row[2] = fmt.Sprintf("%s %s (n=%d)", num(base), bu, bn)
			value = ours / base
			row[3] = fmt.Sprintf("%.2fx", value)
		}
		if c.op != "" {
			suffix := ""
			if c.base != "" {
				suffix = "x"
			}
			row[4] = c.op + " " + num(c.target) + suffix
			if (c.op == "<=" && value <= c.target) || (c.op == ">=" && value >= c.target) {
				row[5] = "met"
				met++
			} else {
				row[5] = "**not met**"
				missed++
			}
		}
		fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
	}
	fmt.Fprintf(w, "\n%d targets met, %d not met. Raw output: %s\n", met, missed, path)

	if bs := benchstatPath(); bs != "" {
		fmt.Fprintln(w, "\nbenchstat summary (median ± 95% confidence interval):")
		cmd := exec.Command(bs, path)
		cmd.Stdout, cmd.Stderr = w, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "benchratio: benchstat:", err)
		}
	}
}

// num formats a value with three significant digits.
func num(v float64) string {
	switch a := math.Abs(v); {
	case v == 0:
		return "0"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// benchstatPath finds benchstat on PATH or in GOPATH/bin.
func benchstatPath() string {
	if p, err := exec.LookPath("benchstat"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	for dir := range strings.SplitSeq(strings.TrimSpace(string(out)), string(os.PathListSeparator)) {
		p := filepath.Join(dir, "bin", "benchstat")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}
