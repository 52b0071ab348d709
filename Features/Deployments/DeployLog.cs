using System.Text;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// Deployment logs: one append-only file per deployment under &lt;DataDir&gt;/logs, one timestamped line per event.
/// The file is the record (the page and the SSE stream read it by byte offset), so a log survives restarts and a
/// long log never has to be held in memory.
/// </summary>
public sealed class DeployLog(PanelSettings settings)
{
    /// <summary>
    /// A build that prints without end must not fill the disk: past this size lines are dropped (and counted) and
    /// one notice says so. The last lines (the error, the outcome) still get through via <see cref="Writer.Important"/>.
    /// </summary>
    public const long MaxBytes = 8L * 1024 * 1024;
    const int MaxLineChars = 8000;

    public string Dir => Path.Combine(settings.DataDir, "logs");

    public string PathOf(long deploymentId) => Path.Combine(Dir, $"{deploymentId}.log");

    public Writer Open(long deploymentId)
    {
        Directory.CreateDirectory(Dir, Data.Db.OwnerOnlyDir);
        return new Writer(PathOf(deploymentId));
    }

    /// <summary>Appends lines for one deployment; thread-safe, flushed per line so the live stream sees them at once.</summary>
    public sealed class Writer : IDisposable
    {
        readonly FileStream _file;
        long _dropped;

        /// <summary>Secret values replaced by ******** before anything reaches the file, so the stored log never holds them.</summary>
        public Variables.SecretMask Mask { get; set; } = Variables.SecretMask.None;

        public Writer(string path)
        {
            _file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }

        /// <summary>A line of ordinary output; dropped once the log is over its size limit.</summary>
        public void Line(string text)
        {
            // Docker's build stream sends bare newlines between steps; they carry nothing worth a timestamp.
            if (!string.IsNullOrWhiteSpace(text)) Write(text, important: false);
        }

        /// <summary>A line the reader must see (step changes, errors, the outcome), written even past the limit.</summary>
        public void Important(string text) => Write(text, important: true);

        void Write(string text, bool important)
        {
            lock (_file)
            {
                if (!important && _file.Length >= MaxBytes)
                {
                    _dropped++;
                    return;
                }
                if (_dropped > 0)
                {
                    Append($"[log limit of {MaxBytes / (1024 * 1024)} MiB reached: {_dropped} lines were not kept]");
                    _dropped = 0;
                }
                Append(text);
            }
        }

        void Append(string text)
        {
            // One line per entry: newlines inside a message become separate timestamped lines; control characters go.
            var stamp = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ");
            var sb = new StringBuilder();
            // Masked before the line is cut to length, so a cut can never leave half a secret behind.
            foreach (var whole in Mask.Apply(text).Replace("\r\n", "\n").Split('\n'))
            {
                // A bounded line keeps the reader's chunking simple (a chunk always holds at least one whole line).
                var part = whole.Length > MaxLineChars ? whole[..MaxLineChars] + " […]" : whole;
                sb.Append(stamp).Append(' ');
                foreach (var ch in part) if (!char.IsControl(ch) || ch == '\t') sb.Append(ch);
                sb.Append('\n');
            }
            var bytes = Encoding.UTF8.GetBytes(sb.ToString());
            _file.Write(bytes);
            _file.Flush();
        }

        public void Dispose()
        {
            lock (_file) _file.Dispose();
        }
    }

    /// <summary>
    /// Up to <paramref name="maxBytes"/> of the log ending at <paramref name="end"/> (null: the end of the file),
    /// starting on a line boundary. Returns the text and the offset it starts at (0 when nothing earlier is left).
    /// </summary>
    public (string Text, long Start, long End) ReadBefore(long deploymentId, long? end, int maxBytes)
    {
        var path = PathOf(deploymentId);
        if (!File.Exists(path)) return ("", 0, 0);
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var stop = Math.Clamp(end ?? f.Length, 0, f.Length);
        var start = Math.Max(0, stop - maxBytes);
        var buf = new byte[stop - start];
        f.Position = start;
        f.ReadExactly(buf);
        var skip = 0;
        if (start > 0)
        {
            // Begin after the first newline so the chunk never starts mid-line (or mid-character).
            var nl = Array.IndexOf(buf, (byte)'\n');
            skip = nl < 0 ? buf.Length : nl + 1;
        }
        return (Encoding.UTF8.GetString(buf, skip, buf.Length - skip), start + skip, stop);
    }

    /// <summary>Complete lines written after <paramref name="offset"/>, at most <paramref name="maxBytes"/>; returns the new offset.</summary>
    public (string Text, long Next) ReadAfter(long deploymentId, long offset, int maxBytes)
    {
        var path = PathOf(deploymentId);
        if (!File.Exists(path)) return ("", offset);
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (offset >= f.Length) return ("", offset);
        var buf = new byte[Math.Min(maxBytes, f.Length - offset)];
        f.Position = offset;
        f.ReadExactly(buf);
        // Only whole lines: the writer may be halfway through one.
        var last = Array.LastIndexOf(buf, (byte)'\n');
        if (last < 0) return ("", offset);
        return (Encoding.UTF8.GetString(buf, 0, last + 1), offset + last + 1);
    }
}
