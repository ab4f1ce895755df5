package integration

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	orchpb "github.com/orch-io/orch/proto"
)

// webYAML rolls out slowly enough (each new replica must stay healthy for
// 2 s before the next is replaced) that the page can be seen showing a
// rollout in the middle.
const webYAML = `kind: Service
name: web
image: orch.local/hello:1
replicas: %d
args: ["--port=8080"]
env: {GREETING: "%s"}
resources: {cpu: 20m, memory: 32Mi}
health: {http: {path: /healthz, port: 8080}, interval: 500ms, timeout: 400ms}
update: {maxSurge: 0, maxUnavailable: 1, minHealthy: 2s%s}
`

// TestWebPageActs drives the web page in headless Chromium against a real
// cluster: with an admin token it scales, shows a rollout's progress as it
// happens, rolls back, follows a replica's logs, filters events by object,
// drains and uncordons; with a reader token an action is refused, visibly.
func TestWebPageActs(t *testing.T) {
	chromium := findChromium(t)
	d := startDevCluster(t)
	d.loadHello()
	d.apply(fmt.Sprintf(webYAML, 2, "one", ""))
	d.running("web", 2)
	cfg, _, err := client.LoadConfig(d.adminConf())
	if err != nil {
		t.Fatal(err)
	}
	server := strings.Split(cfg.Server, ",")[0]
	b := newBrowser(t, chromium)
	b.login(server, cfg.Token)
	b.awaitContains("the services table lists web", "#services", "2 / 2")

	t.Run("scale", func(t *testing.T) { pageScales(t, d, b) })
	t.Run("rollout progress, live, then roll back", func(t *testing.T) { pageShowsRolloutAndRollsBack(t, d, b) })
	t.Run("a canary is promoted", func(t *testing.T) { pagePromotesCanary(t, d, b) })
	t.Run("logs follow", func(t *testing.T) { pageFollowsLogs(t, d, b) })
	t.Run("events filtered by object", func(t *testing.T) { pageFiltersEvents(t, d, b) })
	t.Run("drain and uncordon", func(t *testing.T) { pageDrainsAndUncordons(t, d, b) })
	t.Run("a reader's action is refused on the page", func(t *testing.T) { pageRefusesReader(t, d, b, server) })
	t.Run("a job's progress", func(t *testing.T) { pageShowsJob(t, d, b) })
}

func pageShowsJob(t *testing.T, d *devCluster, b *browser) {
	b = b.on(t)
	d.applyJob("kind: Job\nname: twice\nimage: orch.local/hello:1\ncommand: [/hello, exit, '0']\nresources: {cpu: 20m, memory: 16Mi}\ncompletions: 2\n")
	b.awaitContains("the jobs table shows the job succeeded", "#jobs", "succeeded")
	b.awaitContains("the jobs table shows its completions", "#jobs", "2 / 2")
}

func pageScales(t *testing.T, d *devCluster, b *browser) {
	b = b.on(t)
	b.scaleWeb(3)
	b.awaitContains("the scale is done", "#action-result", "Scale default/web to 3: done.")
	d.running("web", 3)
	b.awaitContains("the services table shows 3 of 3", "#services", "3 / 3")
}

// scaleWeb opens the panel of service web and asks for n replicas.
func (b *browser) scaleWeb(n int) {
	b.t.Helper()
	b.click("manage web", `button[data-action="manage"][data-service="default/web"]`)
	b.run(fmt.Sprintf("scale web to %d", n),
		chromedp.WaitVisible(chromedp.ID("service-panel")),
		chromedp.SetValue(chromedp.ID("scale-replicas"), fmt.Sprint(n)),
		chromedp.Click(chromedp.ID("scale-submit")),
	)
}

func pageShowsRolloutAndRollsBack(t *testing.T, d *devCluster, b *browser) {
	b = b.on(t)
	d.apply(fmt.Sprintf(webYAML, 3, "two", ""))
	// The page must show the rollout under way, without a reload: the watch
	// stream (or the poll) redraws it while replicas are replaced.
	b.awaitContains("the panel shows the rollout under way", "#svc-rollout", "Rollout: updating")
	b.awaitContains("the panel shows the rollout completed", "#svc-rollout", "Rollout: completed, 3 of 3")
	progress, err := eval[string](b, `document.getElementById("svc-progress").value + "/" + document.getElementById("svc-progress").max`)
	if err != nil || progress != "3/3" {
		t.Errorf("progress bar %s (%v), want 3/3", progress, err)
	}
	b.click("roll back", "#svc-rollback")
	b.awaitContains("the rollback is accepted", "#action-result", "Roll back default/web: done.")
	d.eventually("web runs its previous spec again", func() error {
		svc, err := d.api.GetService(context.Background(), "default", "web")
		if err != nil {
			return err
		}
		if g := svc.GetSpec().GetEnv()["GREETING"]; g != "one" {
			return fmt.Errorf("GREETING %q, want one", g)
		}
		if st := svc.GetStatus(); st.RolloutState().InProgress() || st.GetUpdated() != 3 {
			return fmt.Errorf("rollout %s, %d updated", st.GetUpdateState(), st.GetUpdated())
		}
		return nil
	})
	b.awaitContains("the panel shows the rollback done", "#svc-rollout", "3 of 3 replicas on the current spec")
}

func pagePromotesCanary(t *testing.T, d *devCluster, b *browser) {
	b = b.on(t)
	d.apply(fmt.Sprintf(webYAML, 3, "three", ", canary: 1"))
	// The rollout stops after one slot and waits for a decision, which the
	// panel offers.
	b.awaitContains("the panel shows the canary waiting", "#svc-rollout", "1 of 3 replicas on the current spec")
	b.click("promote the canary", "#svc-promote")
	b.awaitContains("the promotion is accepted", "#action-result", "Promote the canary of default/web: done.")
	d.eventually("every replica runs the promoted spec", func() error {
		reps, _, err := d.api.ListReplicas(context.Background(), client.ReplicaFilter{Namespace: "default", Service: "web"})
		if err != nil {
			return err
		}
		svc, err := d.api.GetService(context.Background(), "default", "web")
		if err != nil {
			return err
		}
		n := 0
		for _, r := range reps {
			if r.GetGeneration() == svc.GetGeneration() && r.Observed() == orchpb.ReplicaRunning {
				n++
			}
		}
		if n != 3 || svc.GetStatus().RolloutState().InProgress() {
			return fmt.Errorf("%d replicas run generation %d; rollout %s", n, svc.GetGeneration(), svc.GetStatus().GetUpdateState())
		}
		return nil
	})
	b.await("the promote button is gone", "#service-panel", func(s string) bool { return !strings.Contains(s, "Promote canary") })
}

func pageFollowsLogs(t *testing.T, d *devCluster, b *browser) {
	b = b.on(t)
	r := d.running("web", 3)[0]
	b.click("open the logs of "+r.DisplayName(), fmt.Sprintf(`button[data-action="logs"][data-replica=%q]`, r.DisplayName()))
	b.awaitContains("the log panel shows the start", "#log-lines", "hello: listening")
	// A request made after the stream opened must show up: the page follows.
	marker := fmt.Sprintf("marker-%d", time.Now().UnixNano())
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + r.GetIp() + ":8080/?" + marker)
	if err != nil {
		t.Fatalf("request to %s: %v", r.DisplayName(), err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	b.awaitContains("the followed log shows the new request", "#log-lines", marker)
	b.click("stop following", "#logs-stop")
	b.awaitContains("the panel says it stopped", "#logs-state", "Stopped following.")
}

func pageFiltersEvents(t *testing.T, d *devCluster, b *browser) {
	b = b.on(t)
	r := d.running("web", 3)[1]
	b.click("show the events of "+r.DisplayName(), fmt.Sprintf(`button[data-action="events"][data-kind="replica"][data-object=%q]`, r.DisplayName()))
	b.awaitContains("the filter is shown", "#events-shown", "Showing events of replica "+r.DisplayName())
	want := "replica " + r.DisplayName()
	b.await("only that replica's events are listed", "#events", func(s string) bool {
		rows := b.columnTexts("#events tr", 3)
		if len(rows) == 0 {
			return false
		}
		for _, obj := range rows {
			if obj != want {
				return false
			}
		}
		return strings.Contains(s, want)
	})
	b.click("show all events again", "#event-clear")
	b.awaitContains("the filter is cleared", "#events-shown", "Showing all events.")
	b.await("events of other objects are listed again", "#events", func(string) bool {
		for _, obj := range b.columnTexts("#events tr", 3) {
			if obj != want {
				return true
			}
		}
		return false
	})
}

// columnTexts answers the text of column col (0-based) of every row sel
// matches.
func (b *browser) columnTexts(sel string, col int) []string {
	js := fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).filter(r => r.cells.length > %d).map(r => r.cells[%d].textContent)`, sel, col, col)
	out, err := eval[[]string](b, js)
	if err != nil {
		return nil
	}
	return out
}

func pageDrainsAndUncordons(t *testing.T, d *devCluster, b *browser) {
	b = b.on(t)
	nodes, _, err := d.api.ListNodes(context.Background())
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes: %v %v", nodes, err)
	}
	name := nodes[0].GetName()
	adminState := func(want string) func() error {
		return func() error {
			n, err := d.api.GetNode(context.Background(), name)
			if err != nil {
				return err
			}
			if n.GetAdminState() != want {
				return fmt.Errorf("admin state %q, want %q", n.GetAdminState(), want)
			}
			return nil
		}
	}
	b.click("drain the node", fmt.Sprintf(`button[data-action="drain"][data-node=%q]`, name))
	d.eventually("the node is draining", adminState("draining"))
	b.awaitContains("the nodes table shows it draining", "#nodes", "(draining)")
	b.click("uncordon the node", fmt.Sprintf(`button[data-action="uncordon"][data-node=%q]`, name))
	d.eventually("the node is schedulable again", adminState(""))
	b.await("the nodes table shows it schedulable", "#nodes", func(s string) bool {
		return strings.Contains(s, name) && !strings.Contains(s, "(draining)")
	})
	d.running("web", 3)
}

func pageRefusesReader(t *testing.T, d *devCluster, b *browser, server string) {
	b = b.on(t)
	tok, err := d.api.CreateToken(context.Background(), api.TokenRequest{Role: "reader"})
	if err != nil {
		t.Fatal(err)
	}
	b.forget()
	b.login(server, tok.Token)
	b.awaitContains("a reader sees the services", "#services", "3 / 3")
	b.scaleWeb(1)
	b.awaitContains("the refusal is shown", "#error", "This action needs an admin token.")
	svc, err := d.api.GetService(context.Background(), "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	if svc.GetSpec().GetReplicas() != 3 || svc.GetStatus().GetDesired() != 3 {
		t.Errorf("a reader's scale changed the service: replicas %d", svc.GetSpec().GetReplicas())
	}
}
