using System.Net.Sockets;
using System.Text.Json;
using Docker.DotNet;

namespace VpsPanel.Features.Docker;

/// <summary>
/// Words a failed Docker call for the operator. Kept apart from the client on purpose: whichever client talks to the
/// engine (our own, or Docker.DotNet), a dockerd that dies or restarts mid-call surfaces as the HTTP stack's
/// exception ("The response ended prematurely", "Connection reset by peer"), which names neither Docker nor the socket.
/// </summary>
public static class DockerErrors
{
    /// <summary>
    /// "lost the connection to Docker (&lt;socket&gt;) during &lt;what&gt;: …" when <paramref name="e"/> (or an inner
    /// exception) is the engine's connection breaking; null for anything else, whose own message is then the right one.
    /// </summary>
    public static string? LostConnection(Exception e, string socket, string during)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            var broken = x switch
            {
                // The response (a build's streamed output) stopped before its end: the engine went away mid-call.
                HttpIOException => true,
                SocketException s => s.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown
                    or SocketError.ConnectionRefused or SocketError.AddressNotAvailable,
                // Docker.DotNet's own HTTP stack (Microsoft.Net.Http.Client, its unix-socket transport) reads a streamed
                // body as chunks: the connection closing inside a chunk is EndOfStreamException, between two chunks an
                // empty chunk header. A header with something in it is a garbled answer, not a lost engine.
                EndOfStreamException => true,
                IOException io when io.Message.StartsWith("Invalid chunk header encountered: ''", StringComparison.Ordinal) => true,
                // A broken pipe while the build context is still being sent.
                IOException io => io.InnerException is SocketException || io.Message.Contains("Broken pipe", StringComparison.OrdinalIgnoreCase)
                    || io.Message.Contains("Connection reset", StringComparison.OrdinalIgnoreCase),
                _ => false,
            };
            if (broken)
                return $"lost the connection to Docker ({socket}) during {during}: {x.Message.TrimEnd('.')}; " +
                    "the Docker engine stopped or restarted (see journalctl -u docker), nothing of this deployment went live";
        }
        return null;
    }

    /// <summary>
    /// What Docker said, for messages users read (a failed deployment's error): the library words a refusal as
    /// "Docker API responded with status code='Conflict', response='{"message":"…"}'", around the engine's own sentence.
    /// Anything that is not a refusal with a JSON body keeps its own message.
    /// </summary>
    public static string Readable(Exception e)
    {
        if (e is not DockerApiException api || string.IsNullOrWhiteSpace(api.ResponseBody)) return e.Message;
        try
        {
            using var body = JsonDocument.Parse(api.ResponseBody);
            if (body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("message", out var m)
                && m.ValueKind == JsonValueKind.String && m.GetString() is { Length: > 0 } said)
                return $"Docker refused ({(int)api.StatusCode}): {said.Trim()}";
        }
        catch (JsonException) { }
        return e.Message;
    }
}
