using System.Net.Sockets;

namespace VpsPanel.Features.Docker;

/// <summary>The last lines of a container's output; <see cref="Truncated"/> when the byte cap cut it short.</summary>
public sealed record ContainerLogs(IReadOnlyList<LogLine> Lines, bool Truncated);

/// <summary>
/// Container logs read by our own <see cref="LogDemultiplexer"/> from the raw body of GET /containers/{id}/logs.
/// Missing upstream: Docker.DotNet's MultiplexedStream hands out payload bytes without saying where a frame starts
/// (so the timestamp Docker puts at the start of each 16 KB piece of a long line cannot be told from text), throws on
/// a body that is not framed, and gives no access to the raw body. So this one GET goes over its own small HTTP client
/// on the same socket, at the negotiated API version.
/// </summary>
public sealed partial class DockerEngine
{
    HttpClient? _raw;

    HttpClient Raw => _raw ??= new HttpClient(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
    }) { BaseAddress = new Uri("http://docker/"), Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>
    /// The last <paramref name="tail"/> lines of the container's stdout and stderr, each prefixed with Docker's
    /// timestamp, in the order they were written; null when there is no such container. A tail of long lines can be
    /// large: only the newest whole lines within <paramref name="maxBytes"/> are kept, and the result says Truncated.
    /// </summary>
    public async Task<ContainerLogs?> ContainerLogsAsync(string id, int tail, long maxBytes, CancellationToken ct)
    {
        var docker = await ClientAsync(ct);
        if (await docker.InspectContainerOrNullAsync(id, ct) is not { } container) return null;
        var tty = container.Config?.Tty ?? false;
        HttpResponseMessage res;
        try
        {
            res = await Raw.GetAsync($"v{ApiVersion}/containers/{Uri.EscapeDataString(id)}/logs?stdout=1&stderr=1&timestamps=1&tail={tail}",
                HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e)
        {
            throw new DockerException($"the Docker engine is not reachable at {SocketPath}: {e.InnerException?.Message ?? e.Message}", e);
        }
        using (res)
        {
            // Removed between the two calls (a retire racing the request) is the same answer as never there.
            if ((int)res.StatusCode == 404) return null;
            if (!res.IsSuccessStatusCode)
                throw new DockerException($"Docker GET /containers/{id}/logs failed ({(int)res.StatusCode}): {(await res.Content.ReadAsStringAsync(ct)).Trim()}");
            await using var body = await res.Content.ReadAsStreamAsync(ct);
            // The whole body is read (tail bounds it: at most 5000 lines, each cut at 16 KB by Docker), but only the
            // newest lines within maxBytes are kept.
            var demux = new LogDemultiplexer(multiplexed: !tty, maxBytes, timestamps: true);
            var buffer = new byte[64 * 1024];
            while (await body.ReadAsync(buffer, ct) is var n and > 0) demux.Feed(buffer.AsSpan(0, n));
            demux.Complete();
            return new ContainerLogs(demux.Lines, demux.Truncated);
        }
    }
}
