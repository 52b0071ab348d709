using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Notifications;

/// <summary>One request the receiver got: path, headers, raw body.</summary>
public sealed record Received(string Path, Dictionary<string, string> Headers, byte[] Raw)
{
    public string Body => Encoding.UTF8.GetString(Raw);
    public JsonNode Json => JsonNode.Parse(Body)!;
}

/// <summary>
/// A real HTTP server on a loopback port in the test process (HttpListener), standing in for Slack, Discord,
/// Telegram, ntfy or a webhook endpoint: it records every request and answers with the statuses the test queues
/// (then 200; Telegram gets its {"ok":true} body).
/// </summary>
public sealed class Receiver : IDisposable
{
    readonly HttpListener _listener = new();
    readonly ConcurrentQueue<int> _statuses = new();
    readonly List<Received> _got = [];
    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}";

    public Receiver(int? port = null, params int[] statuses)
    {
        Port = port ?? Paths.FreePort();
        foreach (var s in statuses) _statuses.Enqueue(s);
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _ = Task.Run(LoopAsync);
    }

    public List<Received> Got { get { lock (_got) return _got.ToList(); } }
    public List<Received> At(string path) => Got.Where(r => r.Path.StartsWith(path, StringComparison.Ordinal)).ToList();

    async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            using var ms = new MemoryStream();
            await ctx.Request.InputStream.CopyToAsync(ms);
            var headers = ctx.Request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => ctx.Request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
            lock (_got) _got.Add(new Received(ctx.Request.Url!.AbsolutePath, headers, ms.ToArray()));
            ctx.Response.StatusCode = _statuses.TryDequeue(out var s) ? s : 200;
            var answer = ctx.Request.Url.AbsolutePath.Contains("/sendMessage") ? """{"ok":true,"result":{"message_id":1}}""" : s >= 400 ? "server trouble" : "ok";
            var bytes = Encoding.UTF8.GetBytes(answer);
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        }
    }

    public async Task<List<Received>> WaitForAsync(string path, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (At(path).Count >= count) return At(path);
            await Task.Delay(200);
        }
        throw new TimeoutException($"{path} got {At(path).Count} requests, not {count}, within {timeout}: {string.Join(" | ", Got.Select(g => g.Path + " " + g.Body))}");
    }

    public void Dispose()
    {
        try { _listener.Stop(); } catch (ObjectDisposedException) { }
        _listener.Close();
    }
}
