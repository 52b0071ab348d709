using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Cli;

/// <summary>
/// The CLI's way to the running panel: its REST API with a bearer token. Commands that act through the panel
/// (deploy, logs) use this rather than the data dir, so the panel's worker does the work and the rules are the API's.
/// Every failure becomes a <see cref="CliException"/> that says what to do.
/// </summary>
public sealed class PanelApiClient : IDisposable
{
    public static readonly Option<string?> UrlOption = new("--url") { Description = "The panel's URL (default: $VPSPANEL_URL, else Panel:PublicUrl)" };
    public static readonly Option<string?> TokenOption = new("--token") { Description = "An API token (default: $VPSPANEL_TOKEN); create one with `vpspanel token create`" };

    readonly HttpClient _http;
    public string Url { get; }

    PanelApiClient(string url, string token)
    {
        Url = url;
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = new Uri(url + "/"), Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("vpspanel-cli", CliApp.Version));
    }

    public static void AddOptions(Command cmd)
    {
        cmd.Options.Add(UrlOption);
        cmd.Options.Add(TokenOption);
    }

    /// <summary>URL and token from the options, else the environment; the URL falls back to Panel:PublicUrl.</summary>
    public static PanelApiClient From(ParseResult p)
    {
        var token = p.GetValue(TokenOption) ?? Environment.GetEnvironmentVariable("VPSPANEL_TOKEN");
        if (string.IsNullOrWhiteSpace(token))
            throw new CliException("no API token: pass --token or set VPSPANEL_TOKEN (create one with `vpspanel token create --user EMAIL --name NAME`)", 2);
        var url = p.GetValue(UrlOption) ?? Environment.GetEnvironmentVariable("VPSPANEL_URL");
        if (string.IsNullOrWhiteSpace(url))
        {
            url = CliApp.LoadSettings(p).PublicUrl;
            if (url == "") throw new CliException("no panel URL: pass --url or set VPSPANEL_URL, e.g. http://127.0.0.1:8080", 2);
        }
        url = url.Trim().TrimEnd('/');
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
            throw new CliException($"the panel URL \"{url}\" is not an http(s) URL", 2);
        return new PanelApiClient(url, token.Trim());
    }

    /// <summary>Sends a request; an error answer becomes a CliException carrying the panel's own words.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json = null, bool streaming = false, CancellationToken ct = default)
    {
        using var req = new HttpRequestMessage(method, path.TrimStart('/'));
        if (json is not null) req.Content = new StringContent(json, Encoding.UTF8, "application/json");
        HttpResponseMessage res;
        try
        {
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(ct);
            // Reaching the panel (and its first answer) is quick or broken; a followed stream then runs as long as it must.
            connect.CancelAfter(TimeSpan.FromSeconds(30));
            res = await _http.SendAsync(req, streaming ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, connect.Token);
        }
        catch (HttpRequestException e) { throw new CliException($"cannot reach the panel at {Url}: {e.Message}", 3); }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested) { throw new CliException($"the panel at {Url} did not answer within 30 seconds", 3); }
        if (res.IsSuccessStatusCode) return res;
        using (res) throw new CliException(await DescribeErrorAsync(res), res.StatusCode == HttpStatusCode.NotFound ? 4 : 1);
    }

    async Task<string> DescribeErrorAsync(HttpResponseMessage res)
    {
        var text = await res.Content.ReadAsStringAsync();
        try
        {
            if (JsonNode.Parse(text) is JsonObject problem)
            {
                var detail = (string?)problem["detail"] ?? (string?)problem["title"] ?? text;
                if (problem["errors"] is JsonObject errors)
                    detail += string.Concat(errors.Select(e => $"\n  {e.Key}: {string.Join(" ", e.Value!.AsArray().Select(v => (string?)v))}"));
                return $"{detail} (HTTP {(int)res.StatusCode} from {Url})";
            }
        }
        catch (System.Text.Json.JsonException) { }
        return $"the panel at {Url} answered HTTP {(int)res.StatusCode}{(text.Length > 0 && text.Length < 300 ? ": " + text.Trim() : "")}";
    }

    /// <summary>Sends a file as the body (e.g. a volume backup to restore); returns the answer's text.</summary>
    public async Task<string> SendStreamAsync(HttpMethod method, string path, Stream body, string contentType)
    {
        using var req = new HttpRequestMessage(method, path.TrimStart('/')) { Content = new StreamContent(body) };
        req.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        HttpResponseMessage res;
        try { res = await _http.SendAsync(req); }
        catch (HttpRequestException e) { throw new CliException($"cannot reach the panel at {Url}: {e.Message}", 3); }
        using (res)
        {
            if (!res.IsSuccessStatusCode) throw new CliException(await DescribeErrorAsync(res), res.StatusCode == HttpStatusCode.NotFound ? 4 : 1);
            return await res.Content.ReadAsStringAsync();
        }
    }

    public async Task<JsonNode> GetJsonAsync(HttpMethod method, string path, string? json = null)
    {
        using var res = await SendAsync(method, path, json);
        return JsonNode.Parse(await res.Content.ReadAsStringAsync()) ?? throw new CliException($"the panel at {Url} sent an empty answer");
    }

    /// <summary>
    /// Follows a deployment's log (Server-Sent Events), writing each line to stdout as it comes; returns the final
    /// status from the stream's `done` event.
    /// </summary>
    public async Task<string> FollowLogAsync(long deploymentId)
    {
        using var res = await SendAsync(HttpMethod.Get, $"api/deployments/{deploymentId}/log?follow=true", streaming: true);
        using var reader = new StreamReader(await res.Content.ReadAsStreamAsync());
        string? evt = null;
        var data = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) evt = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data.Add(line[6..]);
            else if (line == "")
            {
                if (evt == "log") foreach (var l in data) Console.WriteLine(l);
                if (evt == "done") return data.FirstOrDefault() ?? "";
                evt = null;
                data.Clear();
            }
        }
        throw new CliException($"the log stream from {Url} ended before deployment {deploymentId} finished; see `vpspanel logs {deploymentId}`");
    }

    public void Dispose() => _http.Dispose();
}
