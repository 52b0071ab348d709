using System.Buffers.Binary;
using System.Text;

namespace VpsPanel.Features.Docker;

/// <summary>One line a container wrote; <see cref="Stream"/> is "stdout" or "stderr".</summary>
public sealed record LogLine(string Stream, string Text);

/// <summary>
/// Turns the body of /containers/{id}/logs into whole lines, fed in whatever pieces the socket delivers.
/// Without a TTY the body is Docker's multiplexed stream: frames of an 8-byte header (stream type, three zero bytes,
/// big-endian payload length) and the payload. Frames end anywhere: mid-line, mid-UTF-8 character, and the header
/// itself can arrive in two reads. Bytes are kept per stream until a newline so a line is decoded (and later masked)
/// whole: a secret split across two frames must never come out half-masked. With a TTY the body is the raw text.
/// Docker cuts a line longer than 16 KB into several entries; with <paramref name="timestamps"/> each entry (one frame)
/// starts with its own timestamp, so a continuation's timestamp is dropped here: the line comes out whole, once
/// stamped, and a secret across the cut is masked like any other.
/// Only the newest lines that fit in <paramref name="maxBytes"/> are kept (older ones are dropped, and
/// <see cref="Truncated"/> says so): a person asking for the tail wants its end, and memory stays bounded.
/// </summary>
public sealed class LogDemultiplexer(bool multiplexed, long maxBytes = long.MaxValue, bool timestamps = false)
{
    const int HeaderSize = 8;

    /// <summary>
    /// Docker cuts a non-TTY line at 16 KB itself; a TTY container's "line" can be endless. Past this much without a
    /// newline the text is passed on as a line, so one endless line cannot fill memory.
    /// </summary>
    public const int MaxLineBytes = 64 * 1024;

    // Each line with the bytes it counts against maxBytes (its text and a newline), added and removed as one number.
    readonly Queue<(LogLine Line, int Bytes)> _lines = new();
    long _keptBytes;
    readonly MemoryStream _stdout = new(), _stderr = new();
    readonly byte[] _header = new byte[HeaderSize];
    int _headerFilled;
    long _payloadLeft;
    MemoryStream _current = null!;
    bool _raw = !multiplexed;
    // Within the leading timestamp (up to its space) of a frame that continues an unfinished line: skipped.
    bool _skippingTimestamp;

    public IReadOnlyList<LogLine> Lines => _lines.Select(l => l.Line).ToList();

    /// <summary>Older lines were dropped to stay within the byte budget.</summary>
    public bool Truncated { get; private set; }

    public void Feed(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            if (_raw)
            {
                Append(_stdout, "stdout", data);
                return;
            }
            if (_payloadLeft == 0)
            {
                var take = Math.Min(HeaderSize - _headerFilled, data.Length);
                data[..take].CopyTo(_header.AsSpan(_headerFilled));
                _headerFilled += take;
                data = data[take..];
                if (_headerFilled < HeaderSize) return;
                _headerFilled = 0;
                if (_header[0] > 2 || _header[1] != 0 || _header[2] != 0 || _header[3] != 0)
                {
                    // Not a frame header: the container must have a TTY after all (or an engine that does not frame).
                    // Showing the bytes as text beats refusing to show anything.
                    _raw = true;
                    Append(_stdout, "stdout", _header);
                    continue;
                }
                // 0 is stdin, which Docker only echoes for attached TTYs; it is shown with stdout.
                _current = _header[0] == 2 ? _stderr : _stdout;
                _payloadLeft = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(4));
                _skippingTimestamp = timestamps && _payloadLeft > 0 && _current.Length > 0;
                continue;
            }
            if (_skippingTimestamp)
            {
                var available = data[..(int)Math.Min(_payloadLeft, data.Length)];
                var space = available.IndexOf((byte)' ');
                var skip = space < 0 ? available.Length : space + 1;
                _skippingTimestamp = space < 0;
                _payloadLeft -= skip;
                data = data[skip..];
                continue;
            }
            var n = (int)Math.Min(_payloadLeft, data.Length);
            Append(_current, _current == _stderr ? "stderr" : "stdout", data[..n]);
            _payloadLeft -= n;
            data = data[n..];
        }
    }

    /// <summary>The end of the body: a last line without a newline is still a line.</summary>
    public void Complete()
    {
        if (_stdout.Length > 0) Flush(_stdout, "stdout");
        if (_stderr.Length > 0) Flush(_stderr, "stderr");
    }

    void Append(MemoryStream buffer, string stream, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            var nl = data.IndexOf((byte)'\n');
            if (nl < 0)
            {
                buffer.Write(data);
                if (buffer.Length >= MaxLineBytes) Flush(buffer, stream);
                return;
            }
            buffer.Write(data[..nl]);
            Flush(buffer, stream);
            data = data[(nl + 1)..];
        }
    }

    void Flush(MemoryStream buffer, string stream)
    {
        var text = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        var bytes = (int)buffer.Length + 1;
        _lines.Enqueue((new LogLine(stream, text.TrimEnd('\r')), bytes));
        _keptBytes += bytes;
        buffer.SetLength(0);
        while (_keptBytes > maxBytes && _lines.TryDequeue(out var oldest))
        {
            _keptBytes -= oldest.Bytes;
            Truncated = true;
        }
    }
}
