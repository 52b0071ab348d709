using System.Collections.Concurrent;
using System.Net;

namespace VpsPanel.Tests.Harness;

/// <summary>
/// A loopback HTTP proxy in front of a real Caddy's admin API that counts the requests by method and path
/// ("POST /load", "POST /adapt"), so a test can tell how often the panel validated and reloaded without the panel
/// reporting on itself. Everything is forwarded as is (method, path, body, content type) and Caddy's answer comes back.
/// </summary>
public sealed class AdminApiCounter : IDisposable
{
    readonly HttpListener _listener = new();
    readonly HttpClient _upstream;
    readonly ConcurrentDictionary<string, int> _counts = new();
    readonly Task _loop;

    public int Port { get; } = Paths.FreePort();
    public string Address => $"http://127.0.0.1:{Port}";

    public AdminApiCounter(string caddyAdminAddress)
    {
        _upstream = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(caddyAdminAddress), Timeout = TimeSpan.FromSeconds(60) };
        _listener.Prefixes.Add(Address + "/");
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>How many requests of this kind ("POST /load") were answered so far.</summary>
    public int Count(string methodAndPath) => _counts.GetValueOrDefault(methodAndPath);

    async Task AcceptLoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = Task.Run(() => ForwardAsync(ctx));
        }
    }

    async Task ForwardAsync(HttpListenerContext ctx)
    {
        try
        {
            using var body = new MemoryStream();
            await ctx.Request.InputStream.CopyToAsync(body);
            using var req = new HttpRequestMessage(new HttpMethod(ctx.Request.HttpMethod), ctx.Request.RawUrl!.TrimStart('/'));
            if (body.Length > 0 || ctx.Request.HttpMethod is "POST" or "PUT" or "PATCH")
            {
                req.Content = new ByteArrayContent(body.ToArray());
                if (ctx.Request.ContentType is { } type) req.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            }
            using var res = await _upstream.SendAsync(req);
            var answer = await res.Content.ReadAsByteArrayAsync();
            ctx.Response.StatusCode = (int)res.StatusCode;
            if (res.Content.Headers.ContentType is { } ct) ctx.Response.ContentType = ct.ToString();
            await ctx.Response.OutputStream.WriteAsync(answer);
            // Counted once Caddy has answered: a test that waits for a count sees the request done.
            _counts.AddOrUpdate($"{ctx.Request.HttpMethod} {ctx.Request.Url!.AbsolutePath}", 1, (_, n) => n + 1);
        }
        catch (HttpRequestException)
        {
            ctx.Response.StatusCode = (int)HttpStatusCode.BadGateway;
        }
        finally
        {
            try { ctx.Response.Close(); } catch (HttpListenerException) { }
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
        _upstream.Dispose();
    }
}
