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
/// </summary>
public sealed class LogDemultiplexer(bool multiplexed)
{
    const int HeaderSize = 8;

    readonly List<LogLine> _lines = [];
    readonly MemoryStream _stdout = new(), _stderr = new();
    readonly byte[] _header = new byte[HeaderSize];
    int _headerFilled;
    long _payloadLeft;
    MemoryStream _current = null!;
    bool _raw = !multiplexed;

    public IReadOnlyList<LogLine> Lines => _lines;

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
                continue;
            }
            var n = (int)Math.Min(_payloadLeft, data.Length);
            Append(_current, _current == _stderr ? "stderr" : "stdout", data[..n]);
            _payloadLeft -= n;
            data = data[n..];
        }
    }

    /// <summary>
    /// The end of the body: a last line without a newline is still a line. Not called when the body was cut short,
    /// so a line the cut went through (and a secret in it) is dropped rather than shown in part.
    /// </summary>
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
        _lines.Add(new LogLine(stream, text.TrimEnd('\r')));
        buffer.SetLength(0);
    }
}
