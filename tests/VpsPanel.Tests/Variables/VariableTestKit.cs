using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Variables;

/// <summary>Shared steps of the variables tests: the env-printing app, the API, and the raw-bytes search.</summary>
public static class VariableTestKit
{
    /// <summary>
    /// The busybox app, with a Dockerfile that echoes two build arguments during the build and writes the container's
    /// environment to /env.txt at start (served by httpd through Caddy).
    /// </summary>
    public static TestRepo EnvPrintingRepo(string label)
    {
        var repo = TestRepo.WithBusyboxApp("env app", label);
        // The last RUN prints the secret in two writes a second apart: the engine streams them as two messages,
        // which the panel must join into one line before masking (else the first half would reach the log).
        repo.CommitDockerfile(
            $$"""
            FROM scratch
            COPY busybox /bin/busybox
            COPY www /www
            LABEL vpspanel.test={{label}}
            ARG SECRET
            ARG PLAIN
            RUN ["/bin/busybox", "sh", "-c", "echo build saw $SECRET; echo plain saw $PLAIN; echo runtime-only saw [$RUNTIME_ONLY]"]
            RUN ["/bin/busybox", "sh", "-c", "printf 'split saw %s' ${SECRET%????????????????????}; /bin/busybox sleep 1; printf '%s end\\n' ${SECRET#???????????????}"]
            EXPOSE 8080
            CMD ["/bin/busybox", "sh", "-c", "/bin/busybox env > /www/env.txt; exec /bin/busybox httpd -f -p 8080 -h /www"]

            """, "print the environment");
        return repo;
    }

    public static async Task<HttpClient> ApiAsync(PanelProcess panel)
    {
        var created = await PanelCli.RunAsync(["token", "create", "--user", PanelSetup.AdminEmail, "--name", "vars", "--data-dir", panel.DataDir]);
        Assert.Equal(0, created.ExitCode);
        var http = new HttpClient { BaseAddress = new Uri(panel.Url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created.Stdout.Trim());
        return http;
    }

    public static async Task<HttpResponseMessage> PutAsync(HttpClient api, string slug, string json) =>
        await api.PutAsync($"/api/projects/{slug}/variables", new StringContent(json, Encoding.UTF8, "application/json"));

    public static async Task PutOkAsync(HttpClient api, string slug, string json)
    {
        using var res = await PutAsync(api, slug, json);
        Assert.True(res.StatusCode == HttpStatusCode.OK, $"PUT answered {res.StatusCode}: {await res.Content.ReadAsStringAsync()}");
    }

    public static async Task<JsonArray> GetAsync(HttpClient api, string slug) =>
        JsonNode.Parse(await api.GetStringAsync($"/api/projects/{slug}/variables"))!.AsArray();

    /// <summary>The environment the app's container started with, as KEY=VALUE lines, read through Caddy.</summary>
    public static async Task<string> ServedEnvAsync(DeployEnv env, string domain)
    {
        using var res = await env.Caddy.GetAsync(domain, "/env.txt");
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        return await res.Content.ReadAsStringAsync();
    }

    /// <summary>Every file under the data dir (the database, its WAL, logs, keys, mirrors, Caddy sites) whose raw bytes contain the value.</summary>
    public static List<string> FilesContaining(string dataDir, string value)
    {
        var needle = Encoding.UTF8.GetBytes(value);
        // vpspanel.lock is the running panel's single-instance lock: held exclusively (unreadable while it runs), it holds only the pid.
        return Directory.EnumerateFiles(dataDir, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != "vpspanel.lock")
            .Where(f => File.ReadAllBytes(f).AsSpan().IndexOf(needle) >= 0).ToList();
    }

    /// <summary>The deployment's log as the live stream sends it (the stream ends once the deployment has finished).</summary>
    public static async Task<string> StreamedLogAsync(PanelClient client, long deploymentId)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var s = await client.Http.GetStreamAsync($"/deployments/{deploymentId}/events?from=0", cts.Token);
        using var reader = new StreamReader(s);
        var sb = new StringBuilder();
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            sb.AppendLine(line);
            if (line.StartsWith("event: done", StringComparison.Ordinal)) break;
        }
        return sb.ToString();
    }
}
