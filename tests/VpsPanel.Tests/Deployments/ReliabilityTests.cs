using System.Diagnostics;
using System.Net;
using VpsPanel.Features.Data;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 12 (reliability), against the real engine and Caddy: a live app whose engine crashed is shown down and
/// started again; a panel killed mid-switch comes back to one consistent state without a failed request; a deploy
/// waits for an unreachable Caddy for a bounded time instead of throwing a healthy build away.
/// </summary>
public sealed class ReliabilityTests
{
    /// <summary>v1 live, v2 committed, Caddy killed, v2's deploy pressed: it will reach the switch with Caddy away.</summary>
    static async Task<(DeployEnv Env, TestRepo Repo, string Domain, long V1, long V2)> DeployWithCaddyDownAsync(string retrySeconds)
    {
        var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Deploy__CaddyRetrySeconds"] = retrySeconds });
        var (repo, project, domain, v1) = await env.DeployV1Async();
        repo.CommitApp("v2", env.Label, "v2");
        env.Caddy.Kill();
        return (env, repo, domain, v1, await env.DeployAsync(project));
    }

    [Fact]
    public async Task Kill_9_of_the_engine_shows_the_live_app_down_and_it_answers_through_Caddy_again_within_one_cycle_after_the_engine_returns()
    {
        await using var engine = await SecondDockerd.StartAsync();
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string>
        {
            ["Docker__Socket"] = engine.Socket,
            ["Deploy__ReconcileSeconds"] = "30",
        });
        var (repo, project, domain, live) = await env.DeployV1Async();
        using var _ = repo;
        var slug = env.Name();

        engine.KillHard();
        // The app died with the engine (its managed containerd and docker-proxy too).
        Assert.NotEqual("v1", await ServedOrErrorAsync(env, domain));
        await TestDocker.WaitUntilAsync(async () => (await env.Client.GetAsync($"/projects/{project}")).Text("#live-down") is not null, TimeSpan.FromSeconds(45));
        Assert.Contains("container down since", (await env.Client.GetAsync($"/projects/{project}")).Text("#live-down"));
        Assert.Contains("Docker engine is not reachable", (await env.Client.GetAsync($"/deployments/{live}")).Text("#container-down"));
        var dashboard = await env.Client.GetAsync("/");
        Assert.Contains(slug, dashboard.Text("#apps-down"));
        Assert.Contains("Problem", dashboard.Doc.QuerySelector("[data-check=docker]")!.TextContent);
        Assert.Contains("\"docker\":{\"ok\":false}", await new HttpClient().GetStringAsync(env.Panel.Url + "/healthz"));

        var back = Stopwatch.StartNew();
        await engine.StartProcessAsync();
        // dockerd itself leaves it Exited (137) with restart count 0 despite unless-stopped: the panel must start it.
        await TestDocker.WaitUntilAsync(async () => await ServedOrErrorAsync(env, domain) == "v1", TimeSpan.FromSeconds(45));
        back.Stop();
        Console.WriteLine($"live app answered through Caddy {back.Elapsed.TotalSeconds:0.0} s after the engine was started again (Deploy:ReconcileSeconds 30)");
        await TestDocker.WaitUntilAsync(async () => (await env.Client.GetAsync($"/projects/{project}")).Text("#live-down") is null, TimeSpan.FromSeconds(30));
        Assert.Null((await env.Client.GetAsync($"/deployments/{live}")).Text("#container-down"));
        Assert.Null((await env.Client.GetAsync("/")).Text("#apps-down"));
        Assert.Contains("is running", await env.LogAsync(live));
        Assert.Equal("live", await env.StatusAsync(live));
    }

    [Fact]
    public async Task Kill_9_of_the_panel_after_Caddy_loaded_the_new_route_finishes_the_switch_with_no_failed_request_and_route_and_database_agree()
    {
        var caddy = await TestCaddy.StartAsync();
        await using var proxy = new LoadHoldingProxy(caddy.AdminAddress);
        await using var env = await DeployEnv.StartAsync(new Dictionary<string, string> { ["Caddy__AdminAddress"] = proxy.Address }, caddy);
        var (repo, project, domain, v1) = await env.DeployV1Async();
        using var _ = repo;

        using var steady = new SteadyRequests(env.Caddy, domain);
        repo.CommitApp("v2", env.Label, "v2");
        proxy.HoldLoads = true;
        var v2 = await env.DeployAsync(project);
        // Caddy has loaded the route to v2; the panel waits for the answer the proxy holds, with v2 still "switching".
        await proxy.LoadHeld.WaitAsync(TimeSpan.FromSeconds(180));
        Assert.Equal("switching", await env.StatusAsync(v2));
        env.Panel.KillHard();
        proxy.HoldLoads = false;
        await env.RestartHardAsync();

        await env.WaitForLiveAsync(v2, TimeSpan.FromSeconds(60));
        Assert.Equal("retired", await env.StatusAsync(v1));
        Assert.Contains("the switch was finished", await env.LogAsync(v2));
        // The old container goes once the route and the database agree; keep the requests going past that.
        await TestDocker.WaitUntilAsync(async () => (await env.PanelContainersAsync()).Count == 1, TimeSpan.FromSeconds(30));
        await Task.Delay(2000);
        var (total, failures, flaps) = steady.Stop();
        Console.WriteLine($"steady requests through Caddy across kill -9 and restart: {total}, failed {failures.Count}, v2→v1 flaps {flaps}");
        Assert.True(total > 50, $"only {total} requests were made");
        Assert.Empty(failures);
        Assert.Equal(0, flaps);

        // The route and the database agree: Caddy dials the port of the deployment the database calls live.
        long port;
        using (var c = Db.OpenFile(Path.Combine(env.Panel.DataDir, "vpspanel.db"), neverCheckpointOnClose: true, Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly))
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = $"SELECT host_port FROM deployments WHERE project_id = {project} AND status = 'live'";
            port = (long)cmd.ExecuteScalar()!;
        }
        using var http = new HttpClient();
        Assert.Contains($"\"dial\":\"127.0.0.1:{port}\"", await http.GetStringAsync(caddy.AdminAddress + "/config/"));
        Assert.Contains($"127.0.0.1:{port}", await File.ReadAllTextAsync(Path.Combine(caddy.SitesDir, env.Name() + ".caddy")));
        Assert.Equal("v2", await env.ServedAsync(domain));
    }

    [Fact]
    public async Task Caddy_down_at_the_switch_for_less_than_the_retry_window_the_deploy_shows_waiting_for_Caddy_and_goes_live_when_Caddy_returns()
    {
        var (env, repo, domain, v1, v2) = await DeployWithCaddyDownAsync("240");
        await using var _ = env;
        using var __ = repo;
        await TestDocker.WaitUntilAsync(async () => (await env.Client.GetAsync($"/deployments/{v2}")).Text("#deploy-note")?.Contains("waiting for Caddy") == true,
            TimeSpan.FromSeconds(180));
        Assert.Equal("switching", await env.StatusAsync(v2));
        Assert.Contains("waiting for Caddy", await env.LogAsync(v2));
        Assert.Equal("live", await env.StatusAsync(v1));
        using (var api = await Api.TestApi.ForUserAsync(env.Panel, PanelSetup.AdminEmail))
        {
            var json = await api.GetAsync($"/api/deployments/{v2}");
            Assert.Equal("switching", (string?)json["status"]);
            Assert.Contains("waiting for Caddy", (string?)json["note"]);
        }

        await env.Caddy.StartProcessAsync();
        await env.WaitForLiveAsync(v2, TimeSpan.FromSeconds(60));
        Assert.Equal("v2", await env.ServedAsync(domain));
        Assert.Null((await env.Client.GetAsync($"/deployments/{v2}")).Text("#deploy-note"));
        Assert.Equal("retired", await env.StatusAsync(v1));
    }

    [Fact]
    public async Task Caddy_down_past_the_retry_window_fails_the_deploy_with_a_clear_reason_and_the_live_app_is_untouched()
    {
        var (env, repo, domain, v1, v2) = await DeployWithCaddyDownAsync("5");
        await using var _ = env;
        using var __ = repo;
        Assert.Equal("failed", await env.WaitForEndAsync(v2, TimeSpan.FromSeconds(180)));
        var error = (await env.Client.GetAsync($"/deployments/{v2}")).Text("#deploy-error");
        Assert.Contains("Failed at switching", error);
        Assert.Contains("Caddy stayed unreachable for 5 s (setting Deploy:CaddyRetrySeconds)", error);
        Assert.Contains("waiting for Caddy", await env.LogAsync(v2));

        await env.Caddy.StartProcessAsync();
        Assert.Equal("v1", await env.ServedAsync(domain));
        Assert.Equal("live", await env.StatusAsync(v1));
        var containers = await env.PanelContainersAsync();
        Assert.Single(containers);
        Assert.EndsWith($"-{v1}", containers[0].Name);
    }

    /// <summary>While the app is down Caddy retries the dial for lb_try_duration (10 s), as long as the client waits.</summary>
    static async Task<string> ServedOrErrorAsync(DeployEnv env, string domain)
    {
        try { return await env.ServedAsync(domain); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return e.GetType().Name; }
    }


    /// <summary>GETs through Caddy in a loop, one after the other, keeping every failure and counting v2→v1 flaps.</summary>
    sealed class SteadyRequests : IDisposable
    {
        readonly CancellationTokenSource _stop = new();
        readonly Task _loop;
        readonly List<string> _failures = [];
        int _total, _flaps;

        public SteadyRequests(TestCaddy caddy, string host)
        {
            _loop = Task.Run(async () =>
            {
                using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(15) };
                var seenV2 = false;
                while (!_stop.IsCancellationRequested)
                {
                    try
                    {
                        using var res = await caddy.GetAsync(host, client: http);
                        var body = (await res.Content.ReadAsStringAsync()).Trim();
                        if (res.StatusCode != HttpStatusCode.OK) lock (_failures) _failures.Add($"{DateTime.UtcNow:HH:mm:ss.fff} HTTP {(int)res.StatusCode}");
                        else if (body == "v2") seenV2 = true;
                        else if (body == "v1" && seenV2) Interlocked.Increment(ref _flaps);
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        lock (_failures) _failures.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {e.Message}");
                    }
                    Interlocked.Increment(ref _total);
                    await Task.Delay(20);
                }
            });
        }

        public (int Total, List<string> Failures, int Flaps) Stop()
        {
            _stop.Cancel();
            _loop.Wait(TimeSpan.FromSeconds(30));
            lock (_failures) return (_total, [.. _failures], _flaps);
        }

        public void Dispose()
        {
            if (!_stop.IsCancellationRequested) Stop();
            _stop.Dispose();
        }
    }

    /// <summary>
    /// A loopback proxy in front of Caddy's admin API that, while <see cref="HoldLoads"/> is set, forwards POST /load
    /// (so Caddy applies it) and then never answers: the panel is caught between "Caddy routes the new container"
    /// and "the database says so", the window a crash mid-switch falls into.
    /// </summary>
    internal sealed class LoadHoldingProxy : IAsyncDisposable
    {
        readonly HttpListener _listener = new();
        readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
        readonly string _target;
        readonly CancellationTokenSource _stop = new();
        readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        readonly Task _loop;

        public string Address { get; }
        public volatile bool HoldLoads;
        public Task LoadHeld => _held.Task;

        public LoadHoldingProxy(string target)
        {
            _target = target.TrimEnd('/');
            var port = Paths.FreePort();
            Address = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add(Address + "/");
            _listener.Start();
            _loop = Task.Run(AcceptAsync);
        }

        async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                HttpListenerContext ctx;
                try { ctx = await _listener.GetContextAsync(); }
                catch (Exception) { return; }
                _ = Task.Run(() => ForwardAsync(ctx));
            }
        }

        async Task ForwardAsync(HttpListenerContext ctx)
        {
            try
            {
                using var req = new HttpRequestMessage(new HttpMethod(ctx.Request.HttpMethod), _target + ctx.Request.RawUrl);
                if (ctx.Request.HasEntityBody)
                {
                    using var ms = new MemoryStream();
                    await ctx.Request.InputStream.CopyToAsync(ms);
                    req.Content = new ByteArrayContent(ms.ToArray());
                    if (ctx.Request.ContentType is { } ct) req.Content.Headers.TryAddWithoutValidation("Content-Type", ct);
                }
                var hold = HoldLoads && ctx.Request.HttpMethod == "POST" && ctx.Request.RawUrl == "/load";
                using var res = await _http.SendAsync(req);
                var body = await res.Content.ReadAsByteArrayAsync();
                if (hold)
                {
                    _held.TrySetResult();
                    try { await Task.Delay(Timeout.Infinite, _stop.Token); } catch (OperationCanceledException) { }
                    ctx.Response.Abort();
                    return;
                }
                ctx.Response.StatusCode = (int)res.StatusCode;
                if (res.Content.Headers.ContentType is { } type) ctx.Response.ContentType = type.ToString();
                await ctx.Response.OutputStream.WriteAsync(body);
                ctx.Response.Close();
            }
            catch (Exception e) when (e is HttpRequestException or HttpListenerException or IOException or TaskCanceledException or ObjectDisposedException)
            {
                try { ctx.Response.StatusCode = 502; ctx.Response.Close(); } catch (Exception) { }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Close();
            try { await _loop.WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
            _http.Dispose();
        }
    }
}
