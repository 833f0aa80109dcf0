package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/filepeer/peer/internal/testenv"
)

// browser starts headless Chromium with nothing that reaches beyond
// loopback (no background networking, updates, sync or QUIC) and an empty
// profile; it is closed when the test ends.
func browser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	chromium := testenv.Tool(t, "chromium")
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	b, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		require.NoError(t, chromedp.Cancel(b), "the browser closes")
		cancel()
	})
	require.NoError(t, chromedp.Do(b)) // starts it
	return b
}

// line is an XPath query for a status line (by id) whose class holds kind
// and whose text holds text; chromedp runs it as a search until it matches.
func line(id, kind, text string) string {
	// XPath has no escapes: a string is quoted with the quote it lacks.
	quoted := `"` + text + `"`
	if strings.Contains(text, `"`) {
		quoted = "'" + text + "'"
	}
	return fmt.Sprintf(`//p[@id=%q and contains(concat(" ", @class, " "), " %s ") and contains(., %s)]`, id, kind, quoted)
}

// TestBrowser drives the page in a real headless browser: add a dead peer
// and a live one, fetch a file nobody has, then one that arrives slowly,
// closing the tab while it does.
func TestBrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel) // after the browser's own cleanup
	b := browser(t, ctx)
	f := newFixture(t, map[string]string{"mine.txt": "mine"})
	g := newGate()
	l, err := f.mem.Listen("mem://gate", g)
	require.NoError(t, err)
	defer l.Close()

	tab, closeTab := chromedp.NewContext(b)
	defer closeTab()
	text := func(ctx context.Context, id string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
		require.NoError(t, err)
		return strings.TrimSpace(s)
	}
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(f.srv.URL)))
	require.Equal(t, "mine.txt", text(tab, "files"))
	require.Equal(t, "none yet", text(tab, "known"))

	require.NoError(t, chromedp.Do(tab,
		chromedp.SendKeys(chromedp.ID("url"), "mem://dead"),
		chromedp.Click(chromedp.ID("hello-button")),
		chromedp.WaitVisible(line("hello-status", "warn", "Added mem://dead, but it does not answer: nothing is listening there.")),
		chromedp.SendKeys(chromedp.ID("url"), "mem://gate"),
		chromedp.Click(chromedp.ID("hello-button")),
		chromedp.WaitVisible(line("hello-status", "ok", "Added mem://gate: it answers.")),
	))
	require.Equal(t, "mem://dead not heard from yet\nmem://gate answering, a book node (cannot search)", text(tab, "known"), "each peer with its state")

	// The page polls the fetch, and shows itself again when it has ended.
	require.NoError(t, chromedp.Do(tab,
		chromedp.SendKeys(chromedp.ID("name"), "nothing.txt"),
		chromedp.Click(chromedp.ID("fetch-button")),
		chromedp.WaitVisible(line("fetch-status", "error", "Couldn't find nothing.txt: no peer on the network has it.")),
	))
	require.Contains(t, text(tab, "hello-status"), "Added mem://gate", "one form's result stays beside it")

	// big.bin's first part comes at once, the rest when the gate opens:
	// the page shows the bytes so far, with the spinner.
	require.NoError(t, chromedp.Do(tab,
		chromedp.SendKeys(chromedp.ID("name"), "big.bin"),
		chromedp.Click(chromedp.ID("fetch-button")),
		chromedp.WaitVisible(line("fetch-status", "running", "Downloading big.bin… 19.5 KiB (20000 bytes) so far")),
	))
	shoot(t, tab, "running", 1280)
	at, err := chromedp.Run(tab, chromedp.Location())
	require.NoError(t, err)

	// The tab closes; the fetch goes on in the node.
	require.NoError(t, chromedp.Cancel(tab))
	close(g.open)
	f.page.fetches.Wait()
	got, err := os.ReadFile(filepath.Join(f.dir, "big.bin"))
	require.NoError(t, err, "the fetch outlived its tab")
	require.Len(t, got, firstPart+len("end\n"))

	// The browser comes back to the page it left.
	again, closeAgain := chromedp.NewContext(b)
	defer closeAgain()
	// The gate is a book node: it announced no hash, so the page says the
	// file is not verified, in the warning's colours.
	const unverified = "Fetched big.bin from a node that cannot vouch for it (not verified)."
	require.NoError(t, chromedp.Do(again,
		chromedp.Navigate(at),
		chromedp.WaitVisible(line("fetch-status", "warn", unverified)),
	))
	require.Equal(t, []string{"big.bin", "mine.txt"}, strings.Fields(text(again, "files")))
	for _, width := range []int64{400, 1280} {
		page := shoot(t, again, fmt.Sprintf("fetched-%d", width), width)
		page.requireLayout(t)
		require.Equal(t, unverified, page.FetchStatus.Text)
		require.Zero(t, page.FetchBar.Width, "no bar once the fetch has ended")
		require.Zero(t, page.Errors, "no error shown")
		require.Positive(t, page.shot.count(warnBackground), "the yellow line shows")
		require.Zero(t, page.shot.count(errorBackground), "no red line shows")
	}

	// An error of Add peer, beside its form.
	require.NoError(t, chromedp.Do(again,
		chromedp.SendKeys(chromedp.ID("url"), "not a url"),
		chromedp.Click(chromedp.ID("hello-button")),
		chromedp.WaitVisible(line("hello-status", "error", `"not a url" is not a node`)),
	))
	require.Equal(t, `"not a url" is not a node's URL; give one such as http://127.0.0.1:4242.`, text(again, "hello-status"))
	for _, width := range []int64{400, 1280} {
		page := shoot(t, again, fmt.Sprintf("peer-error-%d", width), width)
		page.requireLayout(t)
		require.Equal(t, unverified, page.FetchStatus.Text, "the fetch's result stays")
		require.Equal(t, 1, page.Errors)
		require.Positive(t, page.shot.count(errorBackground), "the red line shows")
	}

	// Search, and fetch a row of the results: the fetch runs as the
	// Fetch form's does, and the table comes back with the copy here.
	f.peer(t, "mem://other", map[string]string{"report 2026.txt": "the report\n", "old report.txt": "old\n"})
	const reportFetched = "Fetched report 2026.txt: 11 bytes, checked against its SHA-256, from 1 holder."
	require.NoError(t, chromedp.Do(again,
		chromedp.SendKeys(chromedp.ID("url"), "mem://other"),
		chromedp.Click(chromedp.ID("hello-button")),
		chromedp.WaitVisible(line("hello-status", "ok", "Added mem://other: it answers.")),
		chromedp.SendKeys(chromedp.ID("q"), "REPORT"),
		chromedp.Click(chromedp.ID("search-button")),
		chromedp.WaitVisible(line("search-status", "status", `2 files match "REPORT".`)),
	))
	require.Equal(t, [][]string{
		{"Name", "Size", "Holder", "Hops", ""},
		{"old report.txt", "4 bytes", "mem://other", "1", "Fetch"},
		{"report 2026.txt", "11 bytes", "mem://other", "1", "Fetch"},
	}, cells(t, again))
	require.NoError(t, chromedp.Do(again,
		chromedp.Click(`//table[@id="hits"]//tr[td[1]="report 2026.txt"]//button`),
		chromedp.WaitVisible(line("fetch-status", "ok", reportFetched)),
		chromedp.WaitVisible(`//table[@id="hits"]//tr[td[1]="report 2026.txt" and td[3]="here"]`),
	))
	got, err = os.ReadFile(filepath.Join(f.dir, "report 2026.txt"))
	require.NoError(t, err, "the row's fetch stored the file")
	require.Equal(t, "the report\n", string(got))
	require.Equal(t, [][]string{
		{"Name", "Size", "Holder", "Hops", ""},
		{"report 2026.txt", "11 bytes", "here", "0", ""}, // nothing to fetch
		{"old report.txt", "4 bytes", "mem://other", "1", "Fetch"},
		{"report 2026.txt", "11 bytes", "mem://other", "1", "Fetch"},
	}, cells(t, again), "the search is run again, nearest first")
	for _, width := range []int64{400, 1280} {
		page := shoot(t, again, fmt.Sprintf("search-%d", width), width)
		page.requireLayout(t)
		page.requireSearchLayout(t)
		require.Equal(t, reportFetched, page.FetchStatus.Text)
		require.Equal(t, `3 files match "REPORT".`, page.SearchStatus.Text)
		require.Contains(t, page.Hits.Text, "old report.txt")
		require.Zero(t, page.Errors, "no error shown")
		require.Positive(t, page.shot.count(okBackground), "the green line shows")
		require.Zero(t, page.shot.count(errorBackground), "no red line shows")
	}

	// A bad search: the reason, in words, beside the search form.
	require.NoError(t, chromedp.Do(again,
		chromedp.SetValue(chromedp.ID("q"), "sha256:xyz"),
		chromedp.Click(chromedp.ID("search-button")),
		chromedp.WaitVisible(line("search-status", "error", "Can't search for")),
	))
	require.Equal(t, `Can't search for "sha256:xyz": "xyz" is not a hex SHA-256.`, text(again, "search-status"))
	for _, width := range []int64{400, 1280} {
		page := shoot(t, again, fmt.Sprintf("search-error-%d", width), width)
		page.requireLayout(t)
		require.Zero(t, page.Hits.Width, "no table")
		require.GreaterOrEqual(t, page.SearchStatus.Top, page.Search.Bottom-1, "the search status under its form")
		require.Less(t, page.SearchStatus.Top-page.Search.Bottom, 30.0, "and right under it")
		require.Equal(t, reportFetched, page.FetchStatus.Text, "the fetch's result stays")
		require.Equal(t, 1, page.Errors)
		require.Positive(t, page.shot.count(errorBackground), "the red line shows")
	}

	// A holder that vouches for its file, and holds back three pieces of
	// four: the page shows the percent of the size, the holders and a
	// bar a quarter full, live (the script polls), then the outcome.
	h := f.slowHolder(t)
	const quarter = "Downloading huge.bin… 25% of 4.0 MiB (4194304 bytes), from 1 holder"
	require.NoError(t, chromedp.Do(again,
		chromedp.SetValue(chromedp.ID("name"), "huge.bin"),
		chromedp.Click(chromedp.ID("fetch-button")),
		chromedp.WaitVisible(line("fetch-status", "running", quarter)),
		chromedp.WaitVisible(`//progress[@id="fetch-bar" and @value="25"]`),
	))
	for _, width := range []int64{400, 1280} {
		page := shoot(t, again, fmt.Sprintf("progress-%d", width), width)
		page.requireLayout(t)
		require.Equal(t, quarter, page.FetchStatus.Text)
		require.Equal(t, 25.0, page.FetchBarValue)
		column := min(page.Width, 42*16) - 2*16
		require.Greater(t, page.FetchBar.Width, 0.9*column, "the bar spans the column at %v px", width)
		require.GreaterOrEqual(t, page.FetchBar.Top, page.FetchStatus.Bottom-1, "the bar under the status")
		require.LessOrEqual(t, page.FetchBar.Bottom, page.FilesHeading.Top, "and above the files")
		require.Equal(t, 1, page.Errors, "the bad search's line only: the form carries the search")
	}
	h.Open()
	const verified = "Fetched huge.bin: 4.0 MiB (4194304 bytes), checked against its SHA-256, from 1 holder."
	require.NoError(t, chromedp.Do(again, chromedp.WaitVisible(line("fetch-status", "ok", verified))))
	for _, width := range []int64{400, 1280} {
		page := shoot(t, again, fmt.Sprintf("verified-%d", width), width)
		page.requireLayout(t)
		require.Equal(t, verified, page.FetchStatus.Text)
		require.Zero(t, page.FetchBar.Width, "no bar once the fetch has ended")
		require.Equal(t, 1, page.Errors, "the bad search's line only: the form carries the search")
		require.Positive(t, page.shot.count(okBackground), "the green line shows")
		require.Zero(t, page.shot.count(warnBackground), "no yellow line shows")
	}
	got, err = os.ReadFile(filepath.Join(f.dir, "huge.bin"))
	require.NoError(t, err)
	require.Equal(t, huge, string(got))

	// A second browser (a fresh profile's context) sees no one's results.
	other, closeOther := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	defer closeOther()
	require.NoError(t, chromedp.Do(other, chromedp.Navigate(f.srv.URL)))
	require.Empty(t, text(other, "fetch-status"))
	require.Empty(t, text(other, "hello-status"))
	require.Empty(t, text(other, "search-status"))
	require.NoError(t, chromedp.Cancel(other))
	require.NoError(t, chromedp.Cancel(again))

	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the browser test ran out of time")
	}
}

// box is an element's place on the page, in CSS pixels, and its text.
type box struct {
	Left, Right, Top, Bottom, Width float64
	Text                            string
}

// layout is what the page looks like in a browser window Width wide.
type layout struct {
	Width, ScrollWidth                 float64
	Fetch, FetchStatus, Name, FetchBtn box
	FetchBar                           box // zero unless a fetch runs
	FetchBarValue                      float64
	FilesHeading                       box
	Hello, HelloStatus, URL, HelloBtn  box
	Search, SearchStatus, Query, Hits  box // Hits is zero without a table
	Errors                             int // elements showing an error
	shot                               screenshot
}

const measure = `(() => {
  const box = el => { const r = el.getBoundingClientRect();
    return {Left: r.left, Right: r.right, Top: r.top, Bottom: r.bottom, Width: r.width, Text: el.textContent.trim()}; };
  const id = s => { const el = document.getElementById(s); return el ? box(el) : {}; };
  const h2 = [...document.querySelectorAll("h2")].find(h => h.textContent === "Files here");
  return {Width: window.innerWidth, ScrollWidth: document.documentElement.scrollWidth,
    Fetch: id("fetch"), FetchStatus: id("fetch-status"), Name: id("name"), FetchBtn: id("fetch-button"),
    FetchBar: id("fetch-bar"), FetchBarValue: document.getElementById("fetch-bar")?.value ?? 0,
    FilesHeading: box(h2),
    Hello: id("hello"), HelloStatus: id("hello-status"), URL: id("url"), HelloBtn: id("hello-button"),
    Search: id("search"), SearchStatus: id("search-status"), Query: id("q"), Hits: id("hits"),
    Errors: document.querySelectorAll(".error").length};
})()`

// shoot sets the window width, measures the page and takes a screenshot of
// it, kept in $FILEPEER_SCREENSHOTS if set (to look at), else thrown away.
func shoot(t *testing.T, ctx context.Context, name string, width int64) layout {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(width, 800)))
	page, err := chromedp.Run(ctx, chromedp.Evaluate[layout](measure))
	require.NoError(t, err)
	data, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	dir := os.Getenv("FILEPEER_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "web-"+name+".png"), data, 0o644))
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err, "a PNG")
	require.Equal(t, int(width), img.Bounds().Dx(), "the screenshot is the window's width")
	page.shot = screenshot{img}
	// Text is drawn: a page of a few lines has dark pixels on a good part
	// of it, a blank or failed page none.
	require.Greater(t, page.shot.dark(), img.Bounds().Dx()*img.Bounds().Dy()/400, "text on the screenshot %s", name)
	return page
}

// requireLayout checks that nothing overflows the window, that the fields
// keep a usable width, and that each status line sits under its own form.
func (p layout) requireLayout(t *testing.T) {
	t.Helper()
	require.LessOrEqual(t, p.ScrollWidth, p.Width, "no sideways scrolling at %v px", p.Width)
	for name, b := range map[string]box{"fetch form": p.Fetch, "name": p.Name, "Fetch": p.FetchBtn, "peer form": p.Hello, "url": p.URL, "Add peer": p.HelloBtn, "status": p.FetchStatus} {
		require.GreaterOrEqual(t, b.Left, 0.0, "%s at %v px", name, p.Width)
		require.LessOrEqual(t, b.Right, p.Width, "%s at %v px", name, p.Width)
	}
	// Not collapsed: the forms take most of the column, whose width is
	// the window's up to 42em.
	column := min(p.Width, 42*16) - 2*16
	require.Greater(t, p.Fetch.Width, 0.9*column, "fetch form at %v px", p.Width)
	require.Greater(t, p.Name.Width, 0.4*column, "name field at %v px", p.Width)
	require.Greater(t, p.URL.Width, 0.4*column, "url field at %v px", p.Width)
	require.GreaterOrEqual(t, p.FetchStatus.Top, p.Fetch.Bottom-1, "the fetch status under its form")
	require.LessOrEqual(t, p.FetchStatus.Bottom, p.FilesHeading.Top, "and above the files")
	require.GreaterOrEqual(t, p.HelloStatus.Top, p.Hello.Bottom-1, "the peer status under its form")
	require.Less(t, p.HelloStatus.Top-p.Hello.Bottom, 30.0, "and right under it")
}

// requireSearchLayout checks that the search form and its results table
// fit the window, are not collapsed, and sit in order: form, status, table.
func (p layout) requireSearchLayout(t *testing.T) {
	t.Helper()
	column := min(p.Width, 42*16) - 2*16
	for name, b := range map[string]box{"search form": p.Search, "query": p.Query, "search status": p.SearchStatus, "results": p.Hits} {
		require.GreaterOrEqual(t, b.Left, 0.0, "%s at %v px", name, p.Width)
		require.LessOrEqual(t, b.Right, p.Width, "%s at %v px", name, p.Width)
	}
	require.Greater(t, p.Query.Width, 0.4*column, "query field at %v px", p.Width)
	require.Greater(t, p.Hits.Width, 0.9*column, "results table at %v px", p.Width)
	require.GreaterOrEqual(t, p.SearchStatus.Top, p.Search.Bottom-1, "the search status under its form")
	require.Less(t, p.SearchStatus.Top-p.Search.Bottom, 30.0, "and right under it")
	require.GreaterOrEqual(t, p.Hits.Top, p.SearchStatus.Bottom-1, "the table under the status")
	require.LessOrEqual(t, p.Hits.Bottom, p.FilesHeading.Top, "and above the files")
}

// cells returns the text of the results table's cells, row by row.
func cells(t *testing.T, ctx context.Context) [][]string {
	t.Helper()
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#hits tr")].map(tr => [...tr.cells].map(c => c.textContent.trim()))`))
	require.NoError(t, err)
	return rows
}

// screenshot is a decoded screenshot.
type screenshot struct{ img image.Image }

// The status lines' backgrounds, as page.html paints them.
var (
	okBackground    = color.RGBA{0xe6, 0xf4, 0xea, 0xff}
	warnBackground  = color.RGBA{0xfd, 0xf0, 0xd5, 0xff}
	errorBackground = color.RGBA{0xfd, 0xe8, 0xe8, 0xff}
)

// count returns how many pixels are exactly c.
func (s screenshot) count(c color.RGBA) int {
	n := 0
	b := s.img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(s.img.At(x, y)) == c {
				n++
			}
		}
	}
	return n
}

// dark returns how many pixels are dark, as text is.
func (s screenshot) dark() int {
	n := 0
	b := s.img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.GrayModel.Convert(s.img.At(x, y)).(color.Gray).Y < 128 {
				n++
			}
		}
	}
	return n
}
