package integration

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is a headless Chromium, Debian's own, driven through the DevTools
// protocol: the web page is tested where it runs, not by reading its source.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// findChromium names the browser binary. The suite needs it (.ci/run
// installs it); a machine without it fails here with how to get it, rather
// than skipping the page's only end-to-end test.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatal("no chromium on PATH: apt-get install -y chromium")
	return ""
}

func newBrowser(t *testing.T, execPath string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		// The cluster's CA is not in the browser's store; trust is not what
		// this test is about (TestAPI* check the certificates).
		chromedp.Flag("ignore-certificate-errors", true),
		// Tests run as root, where Chromium's sandbox cannot start.
		chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 2000),
		// Chromium leaves files under TMPDIR when it is killed: keep them in
		// the test's own directory, which the test removes.
		chromedp.Env("TMPDIR="+t.TempDir()),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// Closing the context ends the browser process chromedp started.
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first call starts the browser and must not carry a deadline: the
	// browser lives as long as that call's context.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browser: start %s: %v", execPath, err)
	}
	return &browser{t: t, ctx: ctx}
}

// on answers the browser reporting its failures to t (a subtest).
func (b *browser) on(t *testing.T) *browser {
	return &browser{t: t, ctx: b.ctx}
}

// run performs actions with a deadline generous enough for a loaded machine.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := b.try(actions...); err != nil {
		b.t.Fatalf("browser: %s: %v\n%s", what, err, b.describePage())
	}
}

func (b *browser) try(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// eval answers what the JavaScript expression evaluates to.
func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// describePage says where the browser is and what it shows, for a failure.
func (b *browser) describePage() string {
	s, err := eval[string](b, `location.href + "\n" + (document.body ? document.body.innerText : "(no body)")`)
	if err != nil {
		return "the page cannot be read: " + err.Error()
	}
	return "the page at " + s
}

// text answers the visible text of the first element sel matches, or "" when
// none does yet.
func (b *browser) text(sel string) string {
	b.t.Helper()
	// Evaluated rather than queried: a query waits for the element, which
	// may not be drawn yet, and the caller polls. innerText is what shows.
	s, err := eval[string](b, fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?e.innerText:"";})()`, sel))
	if err != nil {
		return ""
	}
	return s
}

// await polls until the text of sel satisfies ok, and fails with the last
// text seen.
func (b *browser) await(what, sel string, ok func(string) bool) string {
	b.t.Helper()
	deadline := time.Now().Add(defaultTimeout)
	var last string
	for time.Now().Before(deadline) {
		if last = b.text(sel); ok(last) {
			return last
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("browser: timed out waiting until %s; %s reads %q (page error box: %q)", what, sel, last, b.text("#error"))
	return ""
}

func (b *browser) awaitContains(what, sel, want string) string {
	b.t.Helper()
	return b.await(what, sel, func(s string) bool { return strings.Contains(s, want) })
}

// click clicks the button sel matches once it is there.
func (b *browser) click(what, sel string) {
	b.t.Helper()
	b.run(what, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// login opens the page and connects with token.
func (b *browser) login(server, token string) {
	b.t.Helper()
	b.run("open the page and connect",
		chromedp.Navigate(server+"/ui/"),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("token"), token),
		// A click, not form.submit(), which skips the page's submit handler.
		chromedp.Click(chromedp.CSS(`#login button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("main")),
	)
}

// forget drops the page's token, back to the login form.
func (b *browser) forget() {
	b.t.Helper()
	b.click("forget the token", "#forget")
	b.run("see the login form", chromedp.WaitVisible(chromedp.ID("login")))
}
