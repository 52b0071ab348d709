using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Playwright;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Terminal;

/// <summary>
/// The web terminal for real: a deployed busybox app (FROM scratch, /bin/busybox only), the page in Chromium with
/// xterm.js typing into a shell in the live container, and a plain WebSocket client for what a browser cannot be
/// made to send (another member's cookie, another site's Origin, sizes of 0 and 100000).
/// </summary>
public sealed class TerminalTests
{
    /// <summary>A WebSocket to the terminal as a script would open it: the caller's cookie, an Origin of its choice.</summary>
    sealed class RawTerminal : IAsyncDisposable
    {
        public required ClientWebSocket Socket { get; init; }
        readonly StringBuilder _output = new();
        readonly List<string> _messages = [];
        Task? _reader;

        public string Output { get { lock (_output) return _output.ToString(); } }
        public List<string> Messages { get { lock (_messages) return [.. _messages]; } }

        public static async Task<(RawTerminal? Terminal, HttpStatusCode Status)> ConnectAsync(PanelProcess panel, PanelClient? user, long project, string? origin = null)
        {
            var ws = new ClientWebSocket();
            ws.Options.CollectHttpResponseDetails = true;
            if (user is not null) ws.Options.SetRequestHeader("Cookie", user.Cookies.GetCookieHeader(new Uri(panel.Url)));
            ws.Options.SetRequestHeader("Origin", origin ?? panel.Url);
            try
            {
                await ws.ConnectAsync(new Uri($"ws://127.0.0.1:{panel.Port}/projects/{project}/terminal/ws"), new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
            }
            catch (WebSocketException)
            {
                var status = ws.HttpStatusCode;
                ws.Dispose();
                return (null, status);
            }
            var t = new RawTerminal { Socket = ws };
            t._reader = t.ReadAsync();
            return (t, ws.HttpStatusCode);
        }

        async Task ReadAsync()
        {
            var buffer = new byte[16 * 1024];
            var text = new MemoryStream();
            try
            {
                while (true)
                {
                    var m = await Socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (m.MessageType == WebSocketMessageType.Close) return;
                    if (m.MessageType == WebSocketMessageType.Binary) { lock (_output) _output.Append(Encoding.UTF8.GetString(buffer, 0, m.Count)); continue; }
                    text.Write(buffer, 0, m.Count);
                    if (!m.EndOfMessage) continue;
                    lock (_messages) _messages.Add(Encoding.UTF8.GetString(text.ToArray()));
                    text.SetLength(0);
                }
            }
            catch (WebSocketException) { }
        }

        /// <summary>A socket that must open (101).</summary>
        public static async Task<RawTerminal> OpenAsync(PanelProcess panel, PanelClient user, long project)
        {
            var (t, status) = await ConnectAsync(panel, user, project);
            return t ?? throw new Xunit.Sdk.XunitException($"the terminal socket was refused: {status}");
        }

        public Task TypeAsync(string keys) => Socket.SendAsync(Encoding.UTF8.GetBytes(keys), WebSocketMessageType.Binary, true, CancellationToken.None);
        public Task SizeAsync(string json) => Socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);

        public async Task WaitForAsync(Func<RawTerminal, bool> condition, string what)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!condition(this))
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"no {what} within 30 s; output: {Output}; messages: {string.Join(" | ", Messages)}; state {Socket.State} {Socket.CloseStatus} {Socket.CloseStatusDescription}");
                await Task.Delay(100);
            }
        }

        /// <summary>Waits for the server's close after a refusal made inside the socket.</summary>
        public async Task WaitClosedAsync(int seconds = 30) { if (_reader is not null) await _reader.WaitAsync(TimeSpan.FromSeconds(seconds)); }

        public async ValueTask DisposeAsync()
        {
            if (Socket.State == WebSocketState.Open)
                try { await Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "test done", new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token); }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
            if (_reader is not null) await _reader.WaitAsync(TimeSpan.FromSeconds(30));
            Socket.Dispose();
        }
    }

    /// <summary>The text xterm.js shows, one string per row (its DOM renderer writes spaces as no-break spaces).</summary>
    static async Task<List<string>> ScreenAsync(IPage page) =>
        (await page.Locator(".xterm-rows > div").AllTextContentsAsync()).Select(r => r.Replace('\u00a0', ' ').TrimEnd()).ToList();

    static async Task<string> WaitForRowAsync(IPage page, string pattern, Func<string, bool>? also = null)
    {
        var regex = new System.Text.RegularExpressions.Regex(pattern);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var rows = await ScreenAsync(page);
            if (rows.FirstOrDefault(r => regex.IsMatch(r.Trim()) && (also?.Invoke(r.Trim()) ?? true)) is { } row) return row.Trim();
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no row matching {pattern} on the terminal screen:\n{string.Join("\n", rows)}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task A_shell_in_the_live_container_in_the_browser_with_resize_limits_origin_and_owner_checks_and_an_audit_trail()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Terminal__MaxSessionsPerUser"] = "2" });
        using var repo = TestRepo.WithBusyboxApp("terminal app", env.Label);
        var project = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        var slug = env.Name();

        // Not deployed yet: no Terminal link, and the page says why there is no terminal.
        Assert.Null((await env.Client.GetAsync($"/projects/{project}")).Doc.QuerySelector("#terminal-link"));
        var early = await env.Client.GetAsync($"/projects/{project}/terminal");
        Assert.Equal(HttpStatusCode.OK, early.Status);
        Assert.Contains("no live container", early.Text("#terminal-unavailable"));
        Assert.Null(early.Doc.QuerySelector("#terminal"));

        var deployment = await env.DeployAsync(project);
        await env.WaitForLiveAsync(deployment);
        var container = (await env.PanelContainersAsync()).Single().Name;

        // The browser: sign in, the project page's Terminal link, a prompt, a command and its output on the screen.
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        var cspErrors = new List<string>();
        page.Console += (_, m) => { if (m.Text.Contains("Content Security Policy")) lock (cspErrors) cspErrors.Add(m.Text); };
        await Browser.SignInAsync(page, env.Panel.Url, PanelSetup.AdminEmail, PanelSetup.AdminPassword);
        await Browser.WaitForUrlAsync(page, u => !u.Contains("/login"));
        await page.GotoAsync($"{env.Panel.Url}/projects/{project}");
        await page.ClickAsync("#terminal-link");
        await page.WaitForSelectorAsync("#terminal-status:has-text('connected')");
        Assert.EndsWith($"/projects/{project}/terminal", page.Url);
        Assert.Contains(container, await page.TextContentAsync("body"));
        await page.ClickAsync("#terminal");
        await page.Keyboard.TypeAsync("echo hello-from-terminal");
        await page.Keyboard.PressAsync("Enter");
        // The typed line echoes as "… echo hello-from-terminal"; the output is a row of its own.
        await WaitForRowAsync(page, "^hello-from-terminal$");

        // Resize: the TTY's size is what xterm.js fitted to the box; a smaller window gives a smaller one.
        await page.Keyboard.TypeAsync("/bin/busybox stty size");
        await page.Keyboard.PressAsync("Enter");
        var before = await WaitForRowAsync(page, @"^\d+ \d+$");
        await page.SetViewportSizeAsync(700, 500);
        await page.Keyboard.TypeAsync("clear; /bin/busybox stty size");
        await page.Keyboard.PressAsync("Enter");
        var after = await WaitForRowAsync(page, @"^\d+ \d+$", r => r != before);
        var (rowsBefore, colsBefore) = (int.Parse(before.Split(' ')[0]), int.Parse(before.Split(' ')[1]));
        var (rowsAfter, colsAfter) = (int.Parse(after.Split(' ')[0]), int.Parse(after.Split(' ')[1]));
        Assert.True(colsAfter < colsBefore && rowsAfter < rowsBefore, $"stty size before {before}, after a smaller window {after}");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetTempPath(), "vpspanel-terminal.png") });
        // xterm.js's own <style> elements got the page's nonce: the CSP refused none, and their rules apply (the cell
        // spans are inline-block only by the style element xterm.js makes for the cell size).
        lock (cspErrors) Assert.True(cspErrors.Count == 0, "CSP errors: " + string.Join("\n", cspErrors));
        Assert.Equal("inline-block", await page.EvalOnSelectorAsync<string>(".xterm-rows span", "s => getComputedStyle(s).display"));

        // A script's socket with the owner's cookie: sizes of 0 and 100000 are refused with a message and change
        // nothing; a good size reaches the TTY.
        await using (var raw = await RawTerminal.OpenAsync(env.Panel, env.Client, project))
        {
            await raw.SizeAsync("""{"cols":100,"rows":30}""");
            await raw.TypeAsync("/bin/busybox stty size\n");
            await raw.WaitForAsync(r => r.Output.Contains("30 100"), "stty size 30 100");
            await raw.SizeAsync("""{"cols":0,"rows":24}""");
            await raw.SizeAsync("""{"cols":100000,"rows":24}""");
            await raw.SizeAsync("""{"cols":80,"rows":0}""");
            await raw.SizeAsync("not a size");
            await raw.WaitForAsync(r => r.Messages.Count >= 4, "four refusals");
            Assert.Contains("0 columns × 24 rows is refused", raw.Messages[0]);
            Assert.Contains("from 1 to 1000", raw.Messages[0]);
            Assert.Contains("100000 columns × 24 rows is refused", raw.Messages[1]);
            Assert.Contains("80 columns × 0 rows is refused", raw.Messages[2]);
            Assert.Contains("{\"cols\":N,\"rows\":N}", raw.Messages[3]);
            await raw.TypeAsync("/bin/busybox stty size; echo size-checked\n");
            await raw.WaitForAsync(r => r.Output.Contains("size-checked\r\n"), "the second stty size");
            Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(raw.Output, "30 100").Count);
            Assert.True(raw.Socket.State == WebSocketState.Open, "a refused size does not end the terminal");

            // The limit (2 here): the browser's terminal and this one are open, a third is refused with the reason.
            var (third, thirdStatus) = await RawTerminal.ConnectAsync(env.Panel, env.Client, project);
            Assert.Equal(HttpStatusCode.SwitchingProtocols, thirdStatus);
            await using (third!)
            {
                await third!.WaitClosedAsync();
                Assert.Contains("You already have 2 terminals open", third.Messages.Single());
                Assert.Contains("Terminal:MaxSessionsPerUser", third.Messages.Single());
                Assert.Equal(WebSocketCloseStatus.PolicyViolation, third.Socket.CloseStatus);
            }
        }
        // Closed: the count went down, so one more opens again.
        await using (var again = await RawTerminal.OpenAsync(env.Panel, env.Client, project))
        {
            await again.TypeAsync("echo again-$((40+2))\n");
            await again.WaitForAsync(r => r.Output.Contains("again-42"), "the shell of a terminal opened after one closed");
            // A program in the foreground when the terminal closes ends with the shell (the hang-up).
            await again.TypeAsync("/bin/busybox sleep 4321\n");
            await TestDocker.WaitUntilAsync(async () => (await TestDocker.CliAsync("top", container)).Contains("sleep 4321"), TimeSpan.FromSeconds(30), "sleep running");
        }

        // Another site's page (cross-site WebSocket hijacking) and no Origin at all: 403, before any shell starts.
        var (_, crossSite) = await RawTerminal.ConnectAsync(env.Panel, env.Client, project, origin: "http://evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, crossSite);
        var (_, portMismatch) = await RawTerminal.ConnectAsync(env.Panel, env.Client, project, origin: $"http://127.0.0.1:{env.Panel.Port + 1}");
        Assert.Equal(HttpStatusCode.Forbidden, portMismatch);
        // Signed out: the sign-in, not a shell.
        var (anonymousTerminal, anonymous) = await RawTerminal.ConnectAsync(env.Panel, null, project);
        Assert.Null(anonymousTerminal);
        Assert.NotEqual(HttpStatusCode.SwitchingProtocols, anonymous);
        using (var plain = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }))
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, $"{env.Panel.Url}/projects/{project}/terminal/ws");
            req.Headers.Add("Origin", env.Panel.Url);
            using var res = await plain.SendAsync(req);
            Assert.Equal(HttpStatusCode.Redirect, res.StatusCode);
            Assert.StartsWith("/login", res.Headers.Location?.OriginalString);
        }

        // Another member: neither the page nor the socket (404, as for every project of someone else's).
        Assert.Equal(0, (await PanelCli.RunAsync(["user", "add", "--email", "other@example.com", "--data-dir", env.Panel.DataDir], stdin: "another member password\n")).ExitCode);
        using (var member = new PanelClient(env.Panel))
        {
            Assert.True((await member.LoginAsync("other@example.com", "another member password")).Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther);
            Assert.Equal(HttpStatusCode.NotFound, (await member.GetAsync($"/projects/{project}/terminal")).Status);
            var (none, memberStatus) = await RawTerminal.ConnectAsync(env.Panel, member, project);
            Assert.Null(none);
            Assert.Equal(HttpStatusCode.NotFound, memberStatus);
        }

        // Leaving the page ends the browser's shell too (EOF on its stdin): nothing of the terminals is left running.
        await page.GotoAsync($"{env.Panel.Url}/projects/{project}");
        await TestDocker.WaitUntilAsync(async () => (await TestDocker.CliAsync("top", container)) is var top && !top.Contains(" sh") && !top.Contains("sleep 4321"),
            TimeSpan.FromSeconds(30), "no shell (or its foreground job) left in the container");

        // The audit log: each terminal's open and close, by whom, with the shell and how long it was open.
        var audit = Audit.AuditLogTests.Entries(env.Panel.DataDir).Where(e => e.Target == slug && e.Action.StartsWith("terminal.")).ToList();
        Assert.Equal(3, audit.Count(e => e.Action == "terminal.open"));
        await TestDocker.WaitUntilAsync(() => Task.FromResult(Audit.AuditLogTests.Entries(env.Panel.DataDir).Count(e => e.Target == slug && e.Action == "terminal.close") == 3),
            TimeSpan.FromSeconds(30), "three terminal.close rows");
        var open = audit.First(e => e.Action == "terminal.open");
        Assert.Equal(PanelSetup.AdminEmail, open.UserEmail);
        Assert.Contains($"busybox sh in container {container}", open.Detail);
        var close = Audit.AuditLogTests.Entries(env.Panel.DataDir).Last(e => e.Target == slug && e.Action == "terminal.close");
        Assert.Matches(@"after \d+(\.\d)? s|after \d+ min", close.Detail);
    }

    [Fact]
    public async Task An_image_without_any_shell_gets_a_clear_message_in_the_terminal()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("no shell", env.Label);
        // busybox under a path no shell lookup knows, started by its full name: the app runs, but the image has no
        // bash, no sh and no /bin/busybox.
        repo.CommitDockerfile($"""
            FROM scratch
            COPY busybox /app/busybox
            COPY www /www
            LABEL {TestDocker.TestLabel}={env.Label}
            EXPOSE 8080
            CMD ["/app/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
            """, "no shell in the image");
        var project = await env.CreateProjectAsync(repo, $"{env.Name()}.test");
        await env.WaitForLiveAsync(await env.DeployAsync(project));

        await using var browser = await Browser.LaunchAsync();
        var page = await browser.NewPageAsync();
        // Signed out first: the sign-in (a boosted form) returns to the terminal with a full page load, so its scripts run.
        await page.GotoAsync($"{env.Panel.Url}/projects/{project}/terminal");
        Assert.Contains("/login", page.Url);
        await page.FillAsync("#email", PanelSetup.AdminEmail);
        await page.FillAsync("#password", PanelSetup.AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("#terminal-message:has-text('This image has no shell (bash, sh)')");
        Assert.EndsWith($"/projects/{project}/terminal", page.Url);
        await page.WaitForSelectorAsync("#terminal-status:has-text('closed')");
        await WaitForRowAsync(page, "This image has no shell");

        var audit = Audit.AuditLogTests.Entries(env.Panel.DataDir);
        Assert.DoesNotContain(audit, e => e.Action == "terminal.open");
    }

    [Fact]
    public async Task A_terminal_closes_when_its_sign_in_session_ends_and_after_the_idle_time()
    {
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Terminal__IdleMinutes"] = "1" });
        var (repo, project, _, _) = await env.DeployV1Async();
        using var ownedRepo = repo;

        // Signed out elsewhere (the same session): the open terminal ends at its next check, not only the next request.
        using var second = new PanelClient(env.Panel);
        Assert.True((await second.LoginAsync(PanelSetup.AdminEmail, PanelSetup.AdminPassword)).Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther);
        await using (var signedOut = await RawTerminal.OpenAsync(env.Panel, second, project))
        {
            await signedOut.TypeAsync("echo before-sign-out\n");
            await signedOut.WaitForAsync(r => r.Output.Contains("before-sign-out\r\n"), "the shell");
            var logout = await second.SubmitAsync("/", new Dictionary<string, string>(), "/logout");
            Assert.True(logout.Status is HttpStatusCode.Redirect or HttpStatusCode.SeeOther, $"sign-out answered {logout.Status}");
            await signedOut.WaitClosedAsync();
            Assert.Contains("Your sign-in session ended", signedOut.Messages.Single());
        }

        // No input for a minute (Terminal:IdleMinutes=1): closed with the reason, although the shell still runs.
        var started = DateTime.UtcNow;
        await using var idle = await RawTerminal.OpenAsync(env.Panel, env.Client, project);
        await idle.TypeAsync("echo typed-once\n");
        await idle.WaitForAsync(r => r.Output.Contains("typed-once\r\n"), "the shell");
        await idle.WaitClosedAsync(seconds: 120);
        Assert.Contains("Closed after 1 minute without input (Terminal:IdleMinutes)", idle.Messages.Single());
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(59), $"closed after {DateTime.UtcNow - started}");
        await TestDocker.WaitUntilAsync(() => Task.FromResult(Audit.AuditLogTests.Entries(env.Panel.DataDir).Count(e => e.Action == "terminal.close") == 2),
            TimeSpan.FromSeconds(30), "two terminal.close rows");
        var closes = Audit.AuditLogTests.Entries(env.Panel.DataDir).Where(e => e.Action == "terminal.close").ToList();
        Assert.EndsWith(": session ended", closes[0].Detail);
        Assert.EndsWith(": idle", closes[1].Detail);
    }
}
