using System.Buffers.Binary;
using System.Text;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Variables;

namespace VpsPanel.Tests.Docker;

/// <summary>
/// The parsing of Docker's framed log stream, fed the bytes Docker sends, cut where a socket may cut them.
/// (The same client against the real engine is in ContainerLogsDockerTests.)
/// </summary>
public sealed class LogDemultiplexerTests
{
    static byte[] Frame(byte stream, string payload) => FrameBytes(stream, Encoding.UTF8.GetBytes(payload));

    static byte[] FrameBytes(byte stream, byte[] body)
    {
        var frame = new byte[8 + body.Length];
        frame[0] = stream;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), (uint)body.Length);
        body.CopyTo(frame, 8);
        return frame;
    }

    static List<LogLine> Feed(bool multiplexed, byte[] bytes, params int[] cuts) => Feed(new LogDemultiplexer(multiplexed), bytes, cuts);

    static List<LogLine> Feed(LogDemultiplexer demux, byte[] bytes, params int[] cuts)
    {
        var at = 0;
        foreach (var cut in cuts.Append(bytes.Length))
        {
            demux.Feed(bytes.AsSpan(at, cut - at));
            at = cut;
        }
        demux.Complete();
        return demux.Lines.ToList();
    }

    [Fact]
    public void Frames_cut_at_every_byte_boundary_give_the_same_whole_lines()
    {
        byte[] bytes = [.. Frame(1, "token=hunt"), .. Frame(2, "error: "), .. Frame(1, "er2-secret ok\nsecond "), .. Frame(2, "bad\n"), .. Frame(1, "line\n")];
        List<LogLine> expected =
        [
            new("stdout", "token=hunter2-secret ok"),
            new("stderr", "error: bad"),
            new("stdout", "second line"),
        ];
        // Every single cut (inside a header, at its end, inside a payload), and every pair of cuts.
        Assert.Equal(expected, Feed(true, bytes));
        for (var i = 1; i < bytes.Length; i++)
        {
            Assert.Equal(expected, Feed(true, bytes, i));
            for (var j = i + 1; j < bytes.Length; j++) Assert.Equal(expected, Feed(true, bytes, i, j));
        }
        // One byte at a time.
        Assert.Equal(expected, Feed(true, bytes, Enumerable.Range(1, bytes.Length - 1).ToArray()));
    }

    [Fact]
    public void A_long_line_docker_cut_into_stamped_entries_comes_out_whole_and_stamped_once()
    {
        // Docker cuts a line over 16 KB into entries, one frame each, each with its own timestamp; the secret here
        // sits across the cut. Only the first timestamp stays, and the line is masked whole.
        const string Ts1 = "2026-11-29T20:18:59.165645016Z", Ts2 = "2026-11-29T20:18:59.165699999Z";
        byte[] bytes = [.. Frame(1, $"{Ts1} aaaa SEC"), .. Frame(2, $"{Ts2} err\n"), .. Frame(1, $"{Ts1} RET-VALUE tail\n"), .. Frame(1, $"{Ts2} next\n")];
        List<LogLine> expected = [new("stderr", $"{Ts2} err"), new("stdout", $"{Ts1} aaaa SECRET-VALUE tail"), new("stdout", $"{Ts2} next")];
        var mask = new SecretMask(["SECRET-VALUE"]);
        for (var i = 1; i < bytes.Length; i++)
        {
            var lines = Feed(new LogDemultiplexer(true, timestamps: true), bytes, i);
            Assert.Equal(expected, lines);
            Assert.Equal($"{Ts1} aaaa ******** tail", mask.Apply(lines[1].Text));
        }
    }

    [Fact]
    public void A_secret_split_across_frames_is_masked_whole()
    {
        byte[] bytes = [.. Frame(1, "key=hunt"), .. Frame(1, "er2-secret and more\n")];
        var mask = new SecretMask(["hunter2-secret"]);
        var lines = Feed(true, bytes, 3, 12).Select(l => mask.Apply(l.Text)).ToList();
        Assert.Equal(["key=******** and more"], lines);
    }

    [Fact]
    public void A_character_split_across_frames_is_decoded_whole()
    {
        var cafe = Encoding.UTF8.GetBytes("café\n");
        byte[] bytes = [.. FrameBytes(1, cafe[..4]), .. FrameBytes(1, cafe[4..])]; // "caf" + first byte of é | second byte + \n
        Assert.Equal([new LogLine("stdout", "café")], Feed(true, bytes, 9));
    }

    [Fact]
    public void Empty_lines_CRLF_a_last_line_without_newline_and_an_empty_frame()
    {
        byte[] bytes = [.. Frame(1, "one\r\n\nthree"), .. Frame(2, ""), .. Frame(2, "tail without newline")];
        Assert.Equal([new("stdout", "one"), new("stdout", ""), new("stdout", "three"), new("stderr", "tail without newline")], Feed(true, bytes, 5));
    }

    [Fact]
    public void A_TTY_stream_is_raw_text()
    {
        var bytes = Encoding.UTF8.GetBytes("first\r\nsecond\nthird");
        Assert.Equal([new("stdout", "first"), new("stdout", "second"), new("stdout", "third")], Feed(false, bytes, 2, 9));
    }

    [Fact]
    public void Bytes_that_are_not_a_frame_header_are_shown_as_text_rather_than_lost()
    {
        var bytes = Encoding.UTF8.GetBytes("plain text from a tty\n");
        Assert.Equal([new LogLine("stdout", "plain text from a tty")], Feed(true, bytes, 3));
    }
}
