using System.Net;
using AngleSharp.Html.Dom;
using AngleSharp.Html.Parser;

namespace VpsPanel.Tests.Harness;

public sealed record Page(HttpStatusCode Status, string Html, IHtmlDocument Doc, HttpResponseMessage Response)
{
    /// <summary>The text of the first element matching the selector, or null.</summary>
    public string? Text(string selector) => Doc.QuerySelector(selector)?.TextContent.Trim();
    public IEnumerable<string> Texts(string selector) => Doc.QuerySelectorAll(selector).Select(e => e.TextContent.Trim());
}

/// <summary>
/// A browser-like HTTP client for one session: keeps cookies, does not follow redirects (tests assert them),
/// and fills in the antiforgery token from the form it just loaded, as a real browser submit would.
/// </summary>
public sealed class PanelClient : IDisposable
{
    static readonly HtmlParser Parser = new();
    readonly HttpClient _http;
    public CookieContainer Cookies { get; } = new();
    public string BaseUrl { get; }

    /// <summary><paramref name="from"/>: the local address to connect from (e.g. 127.0.0.2), so the panel sees another client address.</summary>
    public PanelClient(string baseUrl, IPAddress? from = null)
    {
        BaseUrl = baseUrl;
        var handler = new SocketsHttpHandler { CookieContainer = Cookies, AllowAutoRedirect = false };
        if (from is not null)
            handler.ConnectCallback = async (ctx, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(from.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(from, 0));
                    await socket.ConnectAsync(ctx.DnsEndPoint, ct);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                }
                catch { socket.Dispose(); throw; }
            };
        _http = new HttpClient(handler) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(60) };
    }

    public PanelClient(PanelProcess panel, IPAddress? from = null) : this(panel.Url, from) { }

    public HttpClient Http => _http;

    public async Task<Page> GetAsync(string path)
    {
        var res = await _http.GetAsync(path);
        return await ToPage(res);
    }

    static async Task<Page> ToPage(HttpResponseMessage res)
    {
        var html = await res.Content.ReadAsStringAsync();
        return new Page(res.StatusCode, html, Parser.ParseDocument(html), res);
    }

    /// <summary>The antiforgery token a page carries (hidden form field, else the htmx header on body).</summary>
    public static string? AntiforgeryToken(Page page) =>
        (page.Doc.QuerySelector("input[name=__RequestVerificationToken]") as IHtmlInputElement)?.Value;

    /// <summary>Loads <paramref name="formPage"/>, then posts the fields (plus its antiforgery token) to <paramref name="action"/>.</summary>
    public async Task<Page> SubmitAsync(string formPage, Dictionary<string, string> fields, string? action = null, bool withToken = true)
    {
        var page = await GetAsync(formPage);
        var form = new Dictionary<string, string>(fields);
        if (withToken && AntiforgeryToken(page) is { } token) form["__RequestVerificationToken"] = token;
        var res = await _http.PostAsync(action ?? formPage, new FormUrlEncodedContent(form));
        return await ToPage(res);
    }

    public async Task<Page> SetupAdminAsync(PanelProcess panel, string email, string password) =>
        await SubmitAsync("/setup", new Dictionary<string, string> { ["token"] = panel.SetupToken, ["email"] = email, ["password"] = password });

    public async Task<Page> LoginAsync(string email, string password) =>
        await SubmitAsync("/login", new Dictionary<string, string> { ["email"] = email, ["password"] = password });

    public void Dispose() => _http.Dispose();
}

/// <summary>Shortcuts for the common arrangement: a fresh panel with its first admin signed in.</summary>
public static class PanelSetup
{
    public const string AdminEmail = "admin@example.com";
    public const string AdminPassword = "correct horse battery";

    public static async Task<PanelClient> SignedInAdminAsync(PanelProcess panel)
    {
        var client = new PanelClient(panel);
        var page = await client.SetupAdminAsync(panel, AdminEmail, AdminPassword);
        if (page.Status != HttpStatusCode.Redirect && page.Status != HttpStatusCode.SeeOther)
            throw new InvalidOperationException($"setup failed with {page.Status}: {page.Html}");
        return client;
    }
}
