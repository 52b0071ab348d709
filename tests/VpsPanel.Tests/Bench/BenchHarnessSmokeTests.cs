using System.Diagnostics;
using System.Text.Json;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Bench;

/// <summary>
/// The benchmark harness (bench/run.sh, issue 20) keeps working: one round of each of its eight measurements at tiny
/// sizes (--quick) runs to the end against the published binary, the real engine and a real Caddy, and writes a JSON
/// file with every section measured next to its baseline. No timing is asserted (the numbers are the bench's to
/// report, not the test's); what is asserted is that each figure is there, the correctness parts of the measurements
/// (no accepted push lost), and that the harness removed everything it created.
/// </summary>
public sealed class BenchHarnessSmokeTests
{
    static readonly string[] Sections = ["deploy", "build", "load", "memory", "startup", "pages", "webhooks", "binary"];

    [Fact]
    public async Task Quick_run_measures_all_eight_against_their_baselines_writes_json_and_leaves_nothing_behind()
    {
        await TestDebian.EnsureImageAsync();
        var results = Paths.NewTempDir("vpspanel-bench-results-");
        try
        {
            var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(Path.Combine(Paths.RepoRoot, "bench", "run.sh"));
            psi.ArgumentList.Add("--quick");
            psi.Environment["VPSPANEL_BINARY"] = Paths.Binary;
            psi.Environment["BENCH_RESULTS_DIR"] = results;
            psi.Environment["BENCH_DEBIAN_IMAGE"] = TestDebian.Image;
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            // About 3 minutes on a quiet 2-core box; 12-20 at a load of 40-50 (every process start waits for a core).
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(30));
            try { await p.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException)
            {
                // SIGTERM first: the harness's trap then removes its containers, images, Caddy and temp dir (a SIGKILL
                // of the tree would leave them).
                Cmd.Run("kill", "-TERM", p.Id.ToString());
                using var grace = new CancellationTokenSource(TimeSpan.FromMinutes(3));
                try { await p.WaitForExitAsync(grace.Token); } catch (OperationCanceledException) { p.Kill(entireProcessTree: true); }
                throw new TimeoutException($"bench/run.sh --quick did not finish in 30 minutes:\n{Tail(await stderr)}");
            }
            var output = $"exit {p.ExitCode}\nstdout:\n{await stdout}\nstderr:\n{Tail(await stderr)}";
            Assert.True(p.ExitCode == 0, output);

            var files = Directory.GetFiles(results, "*.json");
            Assert.True(files.Length == 1, $"expected one JSON file in {results}: {string.Join(", ", files)}\n{output}");
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{6}Z\.json$", Path.GetFileName(files[0]));
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(files[0]));
            var root = doc.RootElement;
            Assert.True(root.GetProperty("quick").GetBoolean());
            Assert.Equal(Environment.ProcessorCount, root.GetProperty("machine").GetProperty("cores").GetInt32());
            var sections = root.GetProperty("sections");
            foreach (var s in Sections)
            {
                var rows = sections.GetProperty(s);
                Assert.True(rows.GetArrayLength() > 0, $"section {s} is empty\n{output}");
                foreach (var row in rows.EnumerateArray())
                {
                    var name = row.GetProperty("name").GetString();
                    Assert.False(string.IsNullOrWhiteSpace(name));
                    Assert.True(row.GetProperty("value").ValueKind == JsonValueKind.Number, $"{s}/{name} has no value\n{output}");
                    Assert.False(string.IsNullOrWhiteSpace(row.GetProperty("unit").GetString()));
                }
                // Every section has at least one figure with its baseline from the same run, and so a ratio.
                Assert.True(rows.EnumerateArray().Any(r => r.GetProperty("baseline").ValueKind == JsonValueKind.Number && r.GetProperty("ratio").ValueKind == JsonValueKind.Number),
                    $"section {s} has no figure with a baseline\n{output}");
            }
            // Correctness, not timing: every push the panel answered 202 has its deployment row.
            var lost = sections.GetProperty("webhooks").EnumerateArray().Single(r => r.GetProperty("name").GetString()!.StartsWith("pushes lost"));
            Assert.Equal(0, lost.GetProperty("value").GetDouble());
            // The table went to stdout too.
            Assert.Contains("| measurement | value | baseline | ratio | target | met |", await stdout);

            // Nothing left behind: its temp dir, the containers, networks and images of its panels and its baseline.
            Assert.False(Directory.Exists(root.GetProperty("work").GetString()), "the harness's temp dir is still there");
            var run = root.GetProperty("run").GetString()!;
            Assert.Equal("", await DockerAsync("ps", "-aq", "--filter", $"label=vpspanel.bench={run}"));
            Assert.Equal("", await DockerAsync("images", "-q", "--filter", $"label=vpspanel.bench={run}"));
            foreach (var id in root.GetProperty("panels").EnumerateArray().Select(e => e.GetString()!))
            {
                Assert.Equal("", await DockerAsync("ps", "-aq", "--filter", $"label=vpspanel.panel={id}"));
                Assert.Equal("", await DockerAsync("network", "ls", "-q", "--filter", $"label=vpspanel.panel={id}"));
                Assert.Equal("", await DockerAsync("images", "-q", "--filter", $"reference=vpspanel/{id}-*"));
            }
        }
        finally { Paths.DeleteQuietly(results); }
    }

    static string Tail(string s) => s.Length > 6000 ? s[^6000..] : s;

    static async Task<string> DockerAsync(params string[] args)
    {
        var r = await TestDebian.RunAsync("docker", args);
        Assert.True(r.ExitCode == 0, $"docker {string.Join(' ', args)}: {r.Stderr}");
        return r.Stdout.Trim();
    }
}
