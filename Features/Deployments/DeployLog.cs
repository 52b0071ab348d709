using System.Text;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// Deployment logs: one append-only file per deployment under &lt;DataDir&gt;/logs, one timestamped line per event.
/// The file is the record (the page and the SSE stream read it by byte offset), so a log survives restarts and a
/// long log never has to be held in memory.
/// The file is named after the deployment's id AND its random log key (issue 12, finding 4): ids repeat after restoring
/// an older backup (and did after deleting a project), and an <c>&lt;id&gt;.log</c> name then appended one deployment's
/// log to another's. The name is looked up in the row on every call (no cache that a restore could make stale); a
/// deployment whose row is gone has no log.
/// </summary>
public sealed class DeployLog(PanelSettings settings, Data.Db db)
{
    /// <summary>
    /// A build that prints without end must not fill the disk: past this size lines are dropped (and counted) and
    /// one notice says so. The last lines (the error, the outcome) still get through via <see cref="Writer.Important"/>.
    /// </summary>
    public const long MaxBytes = 8L * 1024 * 1024;
    const int MaxLineChars = 8000;

    public string Dir => Path.Combine(settings.DataDir, "logs");

    /// <summary>The log file of a deployment, or null when there is no such deployment (any more).</summary>
    public string? PathOf(long deploymentId)
    {
        using var c = db.Open();
        var (exists, key) = DeployStore.FindLogKey(c, deploymentId);
        return exists ? FileOf(deploymentId, key) : null;
    }

    /// <summary>Rows from before migration 0014 have no key and keep the name they were written under.</summary>
    public string FileOf(long deploymentId, string? logKey) =>
        Path.Combine(Dir, logKey is null ? $"{deploymentId}.log" : $"{deploymentId}-{logKey}.log");

    /// <summary>A writer for the deployment's log; one that keeps nothing when the row is gone (its project was deleted meanwhile).</summary>
    public Writer Open(long deploymentId)
    {
        Directory.CreateDirectory(Dir, Data.Db.OwnerOnlyDir);
        return new Writer(PathOf(deploymentId));
    }

    /// <summary>Removes the log files of a deleted project's deployments (called after their rows are gone).</summary>
    public void DeleteFiles(IEnumerable<(long Id, string? LogKey)> deployments)
    {
        foreach (var (id, key) in deployments) File.Delete(FileOf(id, key));
    }

    /// <summary>Appends lines for one deployment; thread-safe, flushed per line so the live stream sees them at once.</summary>
    public sealed class Writer : IDisposable
    {
        readonly Stream _file;
        long _dropped;

        /// <summary>Secret values replaced by ******** before anything reaches the file, so the stored log never holds them.</summary>
        public Variables.SecretMask Mask { get; set; } = Variables.SecretMask.None;

        public Writer(string? path)
        {
            _file = path is null ? Stream.Null : new FileStream(path, new FileStreamOptions
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
            // One line per entry: newlines inside a message become separate timestamped lines; control characters go,
            // except ESC: the output's colours are kept for the page (LogView); every text reader removes them (Ansi.Strip).
            var stamp = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ");
            var sb = new StringBuilder();
            // Masked before the line is cut to length, so a cut can never leave half a secret behind.
            foreach (var whole in Mask.Apply(text).Replace("\r\n", "\n").Split('\n'))
            {
                // A bounded line keeps the reader's chunking simple (a chunk always holds at least one whole line).
                var part = whole.Length > MaxLineChars ? whole[..MaxLineChars] + " […]" : whole;
                sb.Append(stamp).Append(' ');
                foreach (var ch in part) if (!char.IsControl(ch) || ch is '\t' or '\x1b') sb.Append(ch);
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
        if (path is null || !File.Exists(path)) return ("", 0, 0);
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
        if (path is null || !File.Exists(path)) return ("", offset);
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
