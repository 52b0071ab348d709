using System.Net;
using System.Net.Sockets;
using VpsPanel.Features.Git;

namespace VpsPanel.Features.Notifications;

/// <summary>
/// Where a notification may go. An admin types the URL (or SMTP host), and the panel sends from inside the server's
/// network, so the same rule as for Git URLs applies (Git/GitHosts.AddressProblem): the host is judged after DNS
/// resolution, every address it resolves to, when the channel is saved and again at each delivery, and the delivery
/// connects to the address that was judged (the HTTP handler's connect callback and the SMTP socket both resolve,
/// judge, then connect), so a DNS answer that changes in between is never used unjudged. Link-local, metadata and
/// unspecified addresses are always refused; loopback and private ranges only with the channel's allowPrivateNetwork.
/// </summary>
public static class NotifyAddress
{
    const string PrivateHint = "an admin can allow loopback and private networks for this channel with allowPrivateNetwork";
    static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(10);

    /// <summary>For the settings Notifications:TelegramApiUrl and NtfyUrl: http(s), a host, no path, query or credentials.</summary>
    public static bool IsBaseUrl(string v) =>
        Uri.TryCreate(v, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" && u.Host != "" && u.UserInfo == ""
        && u.AbsolutePath.TrimEnd('/') == "" && u.Query == "" && u.Fragment == "";

    /// <summary>The problem with an http(s) URL a channel posts to (shape only), or null.</summary>
    public static string? UrlShapeProblem(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.Host == "")
            return "Enter an http:// or https:// URL.";
        if (u.UserInfo != "") return "Put no user name or password in the URL.";
        return null;
    }

    /// <summary>Judges the host of a URL or an SMTP host: the problem, or the addresses it may connect to.</summary>
    public static async Task<(string? Problem, IPAddress[] Addresses)> CheckHostAsync(string host, bool allowPrivate, CancellationToken ct)
    {
        host = host.Trim('[', ']');
        if (IPAddress.TryParse(host, out var literal))
            return GitHosts.AddressProblem(literal, allowPrivate, allowLoopback: allowPrivate, PrivateHint) is { } why
                ? ($"{host} is {why}: the panel does not send notifications there.", []) : (null, [literal]);
        IPAddress[] addresses;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            timeout.CancelAfter(LookupTimeout);
            try { addresses = await Dns.GetHostAddressesAsync(host, timeout.Token); }
            catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                return ($"the name {host} could not be resolved (DNS)", []);
            }
        }
        if (addresses.Length == 0) return ($"the name {host} could not be resolved (DNS)", []);
        foreach (var a in addresses)
            if (GitHosts.AddressProblem(a, allowPrivate, allowLoopback: allowPrivate, PrivateHint) is { } why)
                return ($"{host} resolves to {a}, {why}: the panel does not send notifications there.", []);
        return (null, addresses);
    }

    /// <summary>
    /// An HttpClient whose every connection is judged right before it is made: a redirect, a keep-alive reconnect or
    /// a changed DNS answer all pass through here. No redirects are followed: a webhook answers, it does not move.
    /// </summary>
    public static HttpClient Client(bool allowPrivate, TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectCallback = async (ctx, ct) => await ConnectAsync(ctx.DnsEndPoint.Host, ctx.DnsEndPoint.Port, allowPrivate, ct),
        };
        return new HttpClient(handler) { Timeout = timeout };
    }

    /// <summary>A TCP connection to a judged address of the host (SMTP uses it too); refused addresses throw <see cref="RefusedAddressException"/>.</summary>
    public static async Task<NetworkStream> ConnectAsync(string host, int port, bool allowPrivate, CancellationToken ct)
    {
        var (problem, addresses) = await CheckHostAsync(host, allowPrivate, ct);
        if (problem is not null) throw new RefusedAddressException(problem);
        Exception? last = null;
        foreach (var a in addresses)
        {
            var socket = new Socket(a.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(a, port, ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e) { socket.Dispose(); last = e; }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }
}

/// <summary>A delivery's address was refused by the rule above (DNS changed since the channel was saved).</summary>
public sealed class RefusedAddressException(string message) : Exception(message);
