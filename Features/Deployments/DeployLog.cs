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

    /// <summary>
    /// The deployment's log for reading: its file, or for one that ended before it ran (PushOrder) the line kept in its
    /// row (deployments.log_note), read the same way; null when it has neither (no such deployment, or nothing written yet).
    /// </summary>
    public Stream? OpenRead(long deploymentId)
    {
        string? path, note;
        using (var c = db.Open())
        {
            var (exists, key, n) = DeployStore.FindLogKey(c, deploymentId);
            if (!exists) return null;
            (path, note) = (FileOf(deploymentId, key), n);
        }
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return note is null ? null : new MemoryStream(Encoding.UTF8.GetBytes(note), writable: false); }
    }

    /// <summary>
    /// A log line as the writer would write it (timestamped, one line), for a deployment that ends before it runs and
    /// keeps its log in its row instead of a file: a flood of pushes ends thousands at once (issue 20).
    /// </summary>
    public static string NoteLine(string text) => Format(text, Variables.SecretMask.None);

    static string Format(string text, Variables.SecretMask mask)
    {
        // One line per entry: newlines inside a message become separate timestamped lines; control characters go,
        // except ESC: the output's colours are kept for the page (LogView); every text reader removes them (Ansi.Strip).
        var stamp = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ");
        var sb = new StringBuilder();
        // Masked before the line is cut to length, so a cut can never leave half a secret behind.
        foreach (var whole in mask.Apply(text).Replace("\r\n", "\n").Split('\n'))
        {
            // A bounded line keeps the reader's chunking simple (a chunk always holds at least one whole line).
            var part = whole.Length > MaxLineChars ? whole[..MaxLineChars] + " […]" : whole;
            sb.Append(stamp).Append(' ');
            foreach (var ch in part) if (!char.IsControl(ch) || ch is '\t' or '\x1b') sb.Append(ch);
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>Rows from before migration 0014 have no key and keep the name they were written under.</summary>
    public string FileOf(long deploymentId, string? logKey) =>
        Path.Combine(Dir, logKey is null ? $"{deploymentId}.log" : $"{deploymentId}-{logKey}.log");

    /// <summary>
    /// A writer for the deployment's log; one that keeps nothing when the row is gone (its project was deleted meanwhile).
    /// A line kept in the row (see <see cref="OpenRead"/>) goes first into a file made now, so nothing of it is lost.
    /// </summary>
    public Writer Open(long deploymentId)
    {
        Directory.CreateDirectory(Dir, Data.Db.OwnerOnlyDir);
        using var c = db.Open();
        var (exists, key, note) = DeployStore.FindLogKey(c, deploymentId);
        if (!exists) return new Writer(null);
        var path = FileOf(deploymentId, key);
        var writer = new Writer(path);
        if (note is not null && writer.IsEmpty) writer.Raw(note);
        return writer;
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

        /// <summary>Nothing written yet (a file made just now).</summary>
        internal bool IsEmpty { get { lock (_file) return _file.Length == 0; } }

        /// <summary>Text already formatted as log lines (<see cref="NoteLine"/>).</summary>
        internal void Raw(string lines)
        {
            lock (_file)
            {
                _file.Write(Encoding.UTF8.GetBytes(lines));
                _file.Flush();
            }
        }

        void Append(string text) => Raw(Format(text, Mask));

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
        using var f = OpenRead(deploymentId);
        if (f is null) return ("", 0, 0);
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
        using var f = OpenRead(deploymentId);
        if (f is null) return ("", offset);
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
