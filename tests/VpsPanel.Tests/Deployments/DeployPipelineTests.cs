using System.Diagnostics;
using System.Globalization;
using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Deployments;

/// <summary>The whole pipeline for real: local bare repo → git → docker build → container → health check → Caddy.</summary>
public sealed class DeployPipelineTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Deploy_v1_then_v2_with_zero_failed_requests_then_roll_back_to_v1_without_a_build()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var domain = $"{env.Name()}.test";
        var projectId = await env.CreateProjectAsync(repo, domain);

        var first = await env.DeployAsync(projectId);
        await env.WaitForLiveAsync(first);
        Assert.Equal("v1", await env.ServedAsync(domain));

        // v2, deployed while a client keeps requesting through Caddy: not one request may fail.
        var v2 = repo.CommitApp("v2", env.Label, "v2");
        using var stop = new CancellationTokenSource();
        var failures = new List<string>();
        var seen = new HashSet<string>();
        var requests = 0;
        var loop = Task.Run(async () =>
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var body = await env.ServedAsync(domain);
                    if (body is not ("v1" or "v2")) lock (failures) failures.Add(body);
                    lock (seen) seen.Add(body);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { lock (failures) failures.Add(e.Message); }
                Interlocked.Increment(ref requests);
                await Task.Delay(20);
            }
        });
        var pressed = Stopwatch.StartNew();
        var second = await env.DeployAsync(projectId);
        await env.WaitForLiveAsync(second);
        var servedAfter = await WaitServedAsync(env, domain, "v2");
        var toServed = pressed.Elapsed;
        // Keep requesting through the drain and the old container's removal.
        await Task.Delay(TimeSpan.FromSeconds(3));
        stop.Cancel();
        await loop;
        Assert.Empty(failures);
        Assert.Contains("v1", seen);
        Assert.Contains("v2", seen);
        Assert.True(requests > 20, $"only {requests} requests were made");
        Assert.Equal("v2", servedAfter);
        var log2 = await env.LogAsync(second);
        Assert.Contains(v2, log2);
        output.WriteLine($"warm-cache redeploy: deploy pressed → v2 served in {toServed.TotalSeconds:0.00} s; {requests} requests, 0 failed");
        output.WriteLine(StepTimes(log2));

        // The old container is gone after the drain; the new one runs.
        string[] names = [];
        for (var i = 0; i < 60; i++)
        {
            names = (await env.PanelContainersAsync()).Select(c => c.Name).ToArray();
            if (names.Length == 1) break;
            await Task.Delay(250);
        }
        Assert.Equal([$"vpspanel-{env.PanelId}-{env.Name()}-{second}"], names);

        // Roll back to v1: its image is reused, nothing is cloned or built.
        var rollbackUrl = await env.DeploymentActionAsync(first, "Rollback");
        var rollback = long.Parse(rollbackUrl.Split('/').Last());
        await env.WaitForLiveAsync(rollback);
        Assert.Equal("v1", await WaitServedAsync(env, domain, "v1"));
        var log3 = await env.LogAsync(rollback);
        Assert.Contains("no build", log3);
        Assert.DoesNotContain("==> building", log3);
        Assert.DoesNotContain("==> cloning", log3);
        Assert.Equal("retired", await env.StatusAsync(second));
        output.WriteLine("rollback: " + StepTimes(log3));

        // History on the project page shows all three with their triggers.
        var project = await env.Client.GetAsync($"/projects/{projectId}");
        Assert.Equal(3, project.Doc.QuerySelectorAll("#deployments tbody tr").Length);
        Assert.Contains("rollback of #" + first, project.Html);
    }

    static async Task<string> WaitServedAsync(DeployEnv env, string domain, string expected)
    {
        var body = "";
        for (var i = 0; i < 100 && body != expected; i++)
        {
            body = await env.ServedAsync(domain);
            if (body != expected) await Task.Delay(50);
        }
        return body;
    }

    /// <summary>Per-step durations read from the "==> step" lines of a deployment log.</summary>
    public static string StepTimes(string log)
    {
        var marks = log.Split('\n').Where(l => l.Contains(" ==> ") || l.Contains(" deployment ") && l.Contains(" of "))
            .Select(l => (At: DateTime.Parse(l[..24], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind), What: l[25..].Replace("==> ", "")))
            .ToList();
        var parts = new List<string>();
        for (var i = 1; i < marks.Count; i++)
            parts.Add($"{marks[i - 1].What.Split(':')[0]} {(marks[i].At - marks[i - 1].At).TotalMilliseconds:0} ms");
        return string.Join(", ", parts);
    }
}
