using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using AngleSharp.Html.Parser;
using VpsPanel.Tests.Deployments;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Domains;

/// <summary>What the domain tests do again and again: post the Domains page, call the API, talk TLS to Caddy.</summary>
public static class DomainKit
{
    public sealed record Row(string Host, bool HttpOnly = false);

    /// <summary>Creates a project serving <paramref name="html"/> on these domains (one per line) and deploys it; returns its id and slug.</summary>
    public static async Task<(long Id, string Slug)> DeployedProjectAsync(DeployEnv env, string suffix, string html, string domains)
    {
        using var repo = TestRepo.WithBusyboxApp(html, env.Label);
        var name = env.Name(suffix);
        var id = await env.CreateProjectAsync(DeployEnv.ProjectFields(name, repo.Bare, domains, repo.Branch));
        await env.WaitForLiveAsync(await env.DeployAsync(id));
        return (id, name);
    }

    /// <summary>Posts the project's Domains page as a browser would: one host field per row, the primary's index, options.</summary>
    public static async Task<Page> SaveDomainsAsync(PanelClient client, long projectId, IReadOnlyList<Row> rows, int primary = 0, bool redirectAliases = false, bool redirectWww = false)
    {
        var form = await client.GetAsync($"/projects/{projectId}/domains");
        var fields = new List<KeyValuePair<string, string>> { new("__RequestVerificationToken", PanelClient.AntiforgeryToken(form)!) };
        for (var i = 0; i < rows.Count; i++)
        {
            fields.Add(new("host", rows[i].Host));
            if (rows[i].HttpOnly) fields.Add(new("httpOnly", i.ToString()));
        }
        fields.Add(new("primary", primary.ToString()));
        fields.Add(new("aliasMode", redirectAliases ? "redirect" : "serve"));
        if (redirectWww) fields.Add(new("redirectWww", "true"));
        var res = await client.Http.PostAsync($"/projects/{projectId}/domains", new FormUrlEncodedContent(fields));
        var html = await res.Content.ReadAsStringAsync();
        return new Page(res.StatusCode, html, new HtmlParser().ParseDocument(html), res);
    }

    /// <summary>A client for the API with a fresh admin token made by the CLI.</summary>
    public static async Task<HttpClient> ApiClientAsync(PanelProcess panel)
    {
        var token = (await PanelCli.RunAsync(["token", "create", "--user", PanelSetup.AdminEmail, "--name", "domains", "--data-dir", panel.DataDir])).Stdout.Trim();
        var http = new HttpClient { BaseAddress = new Uri(panel.Url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>
    /// GET https://host/path through Caddy's HTTPS port: SNI and Host are the domain, the connection goes to loopback,
    /// and the certificate must chain to this Caddy's own internal CA (and name the host), nothing else.
    /// </summary>
    public static async Task<HttpResponseMessage> HttpsGetAsync(TestCaddy caddy, string host, string path = "/")
    {
        var root = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(caddy.Dir, "storage", "pki", "authorities", "local", "root.crt"));
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await s.ConnectAsync(IPAddress.Loopback, caddy.HttpsPort, ct);
                return new NetworkStream(s, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, sent, errors) =>
                {
                    if (cert is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(root);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    // Caddy sends its intermediate along with the leaf.
                    if (sent is not null) foreach (var e in sent.ChainElements) chain.ChainPolicy.ExtraStore.Add(e.Certificate);
                    return chain.Build(new X509Certificate2(cert));
                },
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
        return await http.GetAsync($"https://{host}{path}");
    }

    public static async Task<string> HttpsBodyAsync(TestCaddy caddy, string host)
    {
        using var res = await HttpsGetAsync(caddy, host);
        return res.StatusCode == HttpStatusCode.OK ? (await res.Content.ReadAsStringAsync()).Trim() : $"HTTP {(int)res.StatusCode}";
    }

    /// <summary>The site files and Caddy's running config: what "the proxy is untouched" compares.</summary>
    public static async Task<string> ProxyStateAsync(TestCaddy caddy)
    {
        using var http = new HttpClient();
        var files = Directory.EnumerateFiles(caddy.SitesDir).Order().Select(f => Path.GetFileName(f) + ":\n" + File.ReadAllText(f));
        return string.Join("\n", files) + "\n--- running config ---\n" + await http.GetStringAsync(caddy.AdminAddress + "/config/");
    }

    /// <summary>Waits until Caddy serves <paramref name="expected"/> for the host over HTTP (a reload takes a moment).</summary>
    public static async Task<string> WaitServedAsync(DeployEnv env, string host, string expected)
    {
        var body = "";
        for (var i = 0; i < 100 && body != expected; i++)
        {
            body = await env.ServedAsync(host);
            if (body != expected) await Task.Delay(50);
        }
        return body;
    }
}
