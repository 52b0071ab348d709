using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using VpsPanel.Tests.Api;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Servers;

/// <summary>
/// The Servers feature on a real two-node swarm (TestSwarm): the panel's engine is node 1's. Init through the API
/// (bad addresses refused with a clear sentence, nothing initialised), a one-time join token redeemed by the real
/// join.sh (run on this host against node 2's engine through DOCKER_HOST: Docker is present there, so the script's
/// install step is skipped; JoinScriptDebianTests runs it on a Debian without Docker), used and expired tokens refused, the list, labels, drain moving a task, remove refused
/// and allowed, a kill -9 of node 2 shown as down, the page, the CLI and the audit rows.
/// </summary>
public sealed class ServerTests
{
    [Fact]
    public async Task Shellcheck_finds_nothing_in_join_sh()
    {
        var r = await TestDebian.RunAsync("shellcheck", [Path.Combine(Paths.RepoRoot, "Features", "Servers", "join.sh")]);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Equal("", r.All.Trim());
    }

    [Fact]
    public async Task A_server_joins_with_a_one_time_token_is_listed_labelled_drained_seen_down_and_removed()
    {
        await using var swarm = await TestSwarm.StartAsync(2, formSwarm: false);
        var (n1, n2) = (swarm.Nodes[0], swarm.Nodes[1]);
        await using var panel = await PanelProcess.StartAsync(new Dictionary<string, string>
        {
            ["Docker__Socket"] = n1.Socket,
            ["Docker__CgroupParent"] = n1.CgroupParent,
        });
        using var page = await PanelSetup.SignedInAdminAsync(panel);
        using var admin = await TestApi.ForUserAsync(panel, PanelSetup.AdminEmail);

        // A single server: no nodes, no join tokens.
        Assert.Empty((await admin.GetAsync("/api/servers")).AsArray());
        var refused = await admin.SendAsync(HttpMethod.Post, "/api/servers/join-token");
        Assert.Contains("not a cluster manager", (string?)TestApi.Problem(refused, HttpStatusCode.Conflict)["detail"]);

        // Bad advertise addresses: a clear 400 naming the address, and no swarm made.
        foreach (var (bad, says) in new[]
                 {
                     ("not-an-address", "\"not-an-address\" is not an IP address"),
                     ("127.0.0.1", "127.0.0.1 is a loopback address"),
                     ("10.254.254.254", "10.254.254.254 is not an address of this server's Docker host"),
                 })
        {
            var answer = await admin.SendAsync(HttpMethod.Post, "/api/servers/init", new JsonObject { ["advertiseAddress"] = bad }.ToJsonString());
            Assert.Contains(says, (string?)TestApi.Problem(answer, HttpStatusCode.BadRequest)["detail"]);
        }
        Assert.Equal("inactive", (await n1.CliAsync("info", "--format", "{{.Swarm.LocalNodeState}}")).Trim());
        Assert.Empty((await admin.GetAsync("/api/servers")).AsArray());

        // Init: node 1 is the manager.
        var (status, init, _) = await admin.SendAsync(HttpMethod.Post, "/api/servers/init", new JsonObject { ["advertiseAddress"] = n1.Address }.ToJsonString());
        Assert.True(status == HttpStatusCode.OK, $"{status} {init}");
        Assert.Equal((n1.Name, n1.Address, "manager"), ((string?)init!["hostname"], (string?)init["address"], (string?)init["role"]));
        var again = await admin.SendAsync(HttpMethod.Post, "/api/servers/init", new JsonObject { ["advertiseAddress"] = n1.Address }.ToJsonString());
        Assert.Contains("already in a swarm", (string?)TestApi.Problem(again, HttpStatusCode.Conflict)["detail"]);

        // A join token and the script, served without sign-in.
        var (tStatus, joinToken, _) = await admin.SendAsync(HttpMethod.Post, "/api/servers/join-token");
        Assert.True(tStatus == HttpStatusCode.OK, $"{tStatus} {joinToken}");
        var token = (string)joinToken!["token"]!;
        Assert.Equal($"curl -fsSL {panel.Url}/join.sh | sudo bash -s -- {token}", (string?)joinToken["command"]);
        Assert.StartsWith("SWMTKN-1-", (string?)joinToken["swarmToken"]);
        var expiresAt = DateTime.Parse((string)joinToken["expiresAt"]!, null, System.Globalization.DateTimeStyles.AdjustToUniversal);
        Assert.InRange(expiresAt - DateTime.UtcNow, TimeSpan.FromMinutes(55), TimeSpan.FromMinutes(61));
        using var anonymous = new HttpClient();
        var script = Path.Combine(Paths.NewTempDir(), "join.sh");
        await File.WriteAllTextAsync(script, await anonymous.GetStringAsync(panel.Url + "/join.sh"));
        Assert.Contains($"PANEL_URL=\"${{VPSPANEL_URL:-{panel.Url}}}\"", await File.ReadAllTextAsync(script));

        // join.sh joins node 2 (its engine through DOCKER_HOST); the same token a second time is refused.
        var joined = await JoinShAsync(script, token, n2);
        Assert.True(joined.ExitCode == 0, $"join.sh failed ({joined.ExitCode}):\n{joined.Stdout}\n{joined.Stderr}");
        Assert.Equal("active", (await n2.CliAsync("info", "--format", "{{.Swarm.LocalNodeState}}")).Trim());
        var reused = await JoinShAsync(script, token, n2);
        Assert.NotEqual(0, reused.ExitCode);
        Assert.Contains("This join token was already used", reused.Stderr);
        // An expired token (its hour made to pass in the database) is refused before anything is done.
        var (_, second, _) = await admin.SendAsync(HttpMethod.Post, "/api/servers/join-token");
        Assert.Equal(1, ExpireUnusedJoinTokens(panel));
        var expired = await JoinShAsync(script, (string)second!["token"]!, n2);
        Assert.NotEqual(0, expired.ExitCode);
        Assert.Contains("This join token has expired", expired.Stderr);
        var unknown = await anonymous.PostAsync(panel.Url + "/api/servers/join", TestApi.Json("""{"token":"vpj_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"""));
        Assert.Equal(HttpStatusCode.Forbidden, unknown.StatusCode);

        // The list: two ready nodes with their fields.
        JsonArray nodes = [];
        await TestDocker.WaitUntilAsync(async () =>
        {
            nodes = (await admin.GetAsync("/api/servers")).AsArray();
            return nodes.Count == 2 && nodes.All(n => (string?)n!["state"] == "ready");
        }, TimeSpan.FromSeconds(60), "two ready servers");
        var (m, w) = (nodes.Single(n => (string?)n!["hostname"] == n1.Name)!, nodes.Single(n => (string?)n!["hostname"] == n2.Name)!);
        Assert.Equal((n1.Address, "manager", "active"), ((string?)m["address"], (string?)m["role"], (string?)m["availability"]));
        Assert.Equal((n2.Address, "worker", "active"), ((string?)w["address"], (string?)w["role"], (string?)w["availability"]));
        Assert.True((double)w["cpus"]! > 0 && (long)w["memoryBytes"]! > 0, w.ToJsonString());
        var workerId = (string)w["id"]!;
        var managerId = (string)m["id"]!;

        // Labels (replace), shown in the list; a bad label refused.
        var (lStatus, labelled, _) = await admin.SendAsync(HttpMethod.Patch, $"/api/servers/{workerId}", """{"labels":{"zone":"b","disk":"ssd"}}""");
        Assert.True(lStatus == HttpStatusCode.OK, $"{lStatus} {labelled}");
        Assert.Equal("b", (string?)(await ServerAsync(admin, workerId))["labels"]!["zone"]);
        var badLabel = await admin.SendAsync(HttpMethod.Patch, $"/api/servers/{workerId}", """{"labels":{"bad key":"x"}}""");
        Assert.Contains("bad key", (string?)TestApi.Problem(badLabel, (HttpStatusCode)422)["detail"]);
        var badAvailability = await admin.SendAsync(HttpMethod.Patch, $"/api/servers/{workerId}", """{"availability":"pause"}""");
        Assert.Contains("\"pause\" is not one of: drain, active", (string?)TestApi.Problem(badAvailability, (HttpStatusCode)422)["detail"]);

        // Remove refused while the worker is ready and active, and for the manager, each with its reason.
        var busy = await admin.SendAsync(HttpMethod.Delete, $"/api/servers/{workerId}");
        Assert.Contains("drain it first", (string?)TestApi.Problem(busy, HttpStatusCode.Conflict)["detail"]);
        var self = await admin.SendAsync(HttpMethod.Delete, $"/api/servers/{managerId}");
        Assert.Contains("cannot be removed", (string?)TestApi.Problem(self, HttpStatusCode.Conflict)["detail"]);

        // Drain moves a task: one replica started while the manager is drained runs on node 2; activate node 1 and
        // drain node 2, and it runs on node 1.
        var context = Paths.NewTempDir();
        TestSwarm.WriteHostnameApp(context);
        var image = $"vswtest/app-{swarm.Id}:1";
        await swarm.LoadImageAsync(image, context);
        Paths.DeleteQuietly(context);
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(HttpMethod.Patch, $"/api/servers/{managerId}", """{"availability":"drain"}""")).Status);
        var service = "drainme" + swarm.Id;
        await n1.CliAsync("service", "create", "--detach", "--name", service, "--replicas", "1", image);
        await WaitForTaskOnAsync(n1, service, n2.Name);
        Assert.Equal(1, (int)(await ServerAsync(admin, workerId))["runningTasks"]!);
        Assert.Equal(HttpStatusCode.OK, (await admin.SendAsync(HttpMethod.Patch, $"/api/servers/{managerId}", """{"availability":"active"}""")).Status);
        var drained = await admin.SendAsync(HttpMethod.Patch, $"/api/servers/{workerId}", """{"availability":"drain"}""");
        Assert.Equal("drain", (string?)drained.Body!["availability"]);
        await WaitForTaskOnAsync(n1, service, n1.Name);
        await TestDocker.WaitUntilAsync(async () => (int)(await ServerAsync(admin, workerId))["runningTasks"]! == 0, TimeSpan.FromSeconds(60), "no tasks on the drained node");

        // The page lists both with their fields, and shows a join command.
        var html = await page.GetAsync("/servers");
        Assert.Equal(HttpStatusCode.OK, html.Status);
        Assert.Equal("drain", html.Text($"tr[data-hostname='{n2.Name}'] td.availability"));
        Assert.Equal("ready", html.Text($"tr[data-hostname='{n2.Name}'] td.state"));
        Assert.Contains("zone=b", html.Doc.QuerySelector($"tr[data-hostname='{n2.Name}'] input[name=labels]")!.GetAttribute("value"));
        var shown = await page.SubmitAsync("/servers", new(), "/servers?handler=JoinToken");
        Assert.StartsWith($"curl -fsSL {panel.Url}/join.sh | sudo bash -s -- vpj_", shown.Text("#join-command"));
        // The page's label form: a bad label is refused with the sentence, nothing saved.
        var badForm = await page.SubmitAsync("/servers", new() { ["labels"] = "no-equals-sign" }, $"/servers?handler=Labels&id={workerId}");
        Assert.Equal((HttpStatusCode)422, badForm.Status);
        Assert.Contains("\"no-equals-sign\" is not key=value", badForm.Text("[role=alert]"));
        Assert.Equal("b", (string?)(await ServerAsync(admin, workerId))["labels"]!["zone"]);

        // The CLI mirrors the API.
        var cliEnv = new Dictionary<string, string> { ["VPSPANEL_URL"] = panel.Url, ["VPSPANEL_TOKEN"] = admin.Token };
        var list = await PanelCli.RunAsync(["servers", "list"], env: cliEnv);
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Contains(n1.Name, list.Stdout);
        Assert.Contains($"{n2.Name}\t{n2.Address}\tworker\tready\tdrain", list.Stdout);
        var activate = await PanelCli.RunAsync(["servers", "activate", n2.Name], env: cliEnv);
        Assert.True(activate.ExitCode == 0, activate.Stderr);
        Assert.Equal($"{n2.Name} is active", activate.Stdout.Trim());
        var cliLabel = await PanelCli.RunAsync(["servers", "label", n2.Name, "zone=c"], env: cliEnv);
        Assert.True(cliLabel.ExitCode == 0, cliLabel.Stderr);
        Assert.Equal("c", (string?)(await ServerAsync(admin, workerId))["labels"]!["zone"]);
        var cliRemove = await PanelCli.RunAsync(["servers", "remove", n2.Name], env: cliEnv);
        Assert.NotEqual(0, cliRemove.ExitCode);
        Assert.Contains("drain it first", cliRemove.Stderr);
        var cliBad = await PanelCli.RunAsync(["servers", "init", "127.0.0.1"], env: cliEnv);
        Assert.NotEqual(0, cliBad.ExitCode);
        Assert.Contains("loopback", cliBad.Stderr);

        // kill -9 of node 2's engine (its whole server): the list shows it down; then it can be removed.
        n2.KillHard();
        await TestDocker.WaitUntilAsync(async () => (string?)(await ServerAsync(admin, workerId))["state"] == "down", TimeSpan.FromSeconds(90), "node 2 down in the list");
        Assert.Equal(HttpStatusCode.NoContent, (await admin.SendAsync(HttpMethod.Delete, $"/api/servers/{workerId}")).Status);
        Assert.Single((await admin.GetAsync("/api/servers")).AsArray());

        // Audited: every change, the join included (no user: the token was the credential).
        var audit = (await admin.GetAsync("/api/audit?action=server")).ToJsonString();
        foreach (var action in new[] { "server.init", "server.join-token", "server.join", "server.update", "server.remove" })
            Assert.Contains($"\"{action}\"", audit);
        await n1.CliAsync("service", "rm", service);
    }

    /// <summary>Makes every unused join token's hour pass, in the panel's database; returns how many.</summary>
    internal static int ExpireUnusedJoinTokens(PanelProcess panel)
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(panel.DataDir, "vpspanel.db")}");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "UPDATE swarm_join_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE used_at IS NULL";
        return cmd.ExecuteNonQuery();
    }

    internal static async Task<JsonNode> ServerAsync(TestApi admin, string id) =>
        (await admin.GetAsync("/api/servers")).AsArray().Single(n => (string?)n!["id"] == id)!;

    static Task WaitForTaskOnAsync(TestSwarm.Node manager, string service, string hostname) =>
        TestDocker.WaitUntilAsync(async () =>
            (await manager.CliAsync("service", "ps", service, "--filter", "desired-state=running", "--format", "{{.Node}} {{.CurrentState}}"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Any(l => l.StartsWith(hostname + " Running", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(120), $"{service} running on {hostname}");

    /// <summary>Runs the served join.sh as root on this host, its docker CLI pointed at <paramref name="node"/>.</summary>
    static async Task<CliResult> JoinShAsync(string script, string token, TestSwarm.Node node)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, token, node.Address }) psi.ArgumentList.Add(a);
        psi.Environment["DOCKER_HOST"] = "unix://" + node.Socket;
        psi.Environment["PATH"] = "/usr/bin:/usr/sbin:/bin:/sbin";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(cts.Token);
        return new CliResult(p.ExitCode, await stdout, await stderr);
    }
}
