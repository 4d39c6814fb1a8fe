//! Decode steps as a pull ([`Decoding`], [`Session::decode_stream`]): one id a call, the next
//! step queued before the id is read back where [`Session::set_queue_ahead`] says so.

use super::{Session, Stage};
use crate::error::{Error, Result};
use crate::gpu::buffers::map_and_read_after;

impl Session {
    /// Decodes up to `n` tokens, one submit each. Each id feeds the next step on the GPU, never
    /// through the CPU, and with [`Session::set_queue_ahead`] (the default on GPUs) the next
    /// step is queued before the previous step's id is read back: the ids reach the CPU while
    /// the GPU is already on the next token. `on_token`
    /// gets the ids in order and returns false to stop; the step queued past the stop is undone
    /// (its position forgotten, the stopping id fed next), so the session stands where
    /// [`Session::decode`] would have left it. Returns the ids, the stopping one included; where
    /// the cache fills first, the ids that fit stream and then the cache's error comes.
    pub async fn decode_stream(&mut self, n: usize, mut on_token: impl FnMut(u32) -> bool) -> Result<Vec<u32>> {
        let mut d = self.decoding(n)?;
        let mut ids = Vec::with_capacity(n.min(4096));
        while let Some(id) = d.next().await? {
            ids.push(id);
            if !on_token(id) {
                break;
            }
        }
        Ok(ids)
    }

    /// [`Session::decode_stream`] as a pull: up to `n` ids from [`Decoding::next`], one step
    /// queued ahead where [`Session::set_queue_ahead`] says so. Dropping it between ids stops
    /// there (a step queued past the last id taken is undone).
    pub fn decoding(&mut self, n: usize) -> Result<Decoding<'_>> {
        let st = self.decode_begin(n)?;
        Ok(Decoding { s: self, st: Some(st) })
    }

    /// Starts [`Decoding`]'s steps with the state kept by the caller (who must hand it back to
    /// [`Session::decode_end`]).
    pub(crate) fn decode_begin(&mut self, n: usize) -> Result<DecodeState> {
        if !self.has_next {
            return Err(Error::Input("decode before prefill".into()));
        }
        // as many steps as the cache has room for; past them, the error `decode` gives
        let fit = n.min(self.cache.max_context.saturating_sub(self.past));
        self.decode_stage()?;
        let stage = self.decode.take();
        Ok(DecodeState { stage, want: n, n: fit, i: 0, queued: None, ahead: self.queue_ahead, last: None })
    }

    /// The next id of the steps `st` runs (see [`Decoding::next`]).
    pub(crate) async fn decode_next(&mut self, st: &mut DecodeState) -> Result<Option<u32>> {
        if st.i >= st.n {
            if st.n < st.want {
                self.check_room(1)?;
            }
            return Ok(None);
        }
        let (i, stage) = (st.i, st.stage.as_ref().unwrap());
        if st.queued.is_none() {
            st.queued = Some(self.submit(stage, None, true, i % 2, None)?);
        }
        let ahead =
            if st.ahead && i + 1 < st.n { Some(self.submit(stage, None, true, (i + 1) % 2, None)?) } else { None };
        let read = map_and_read_after(&self.ctx, &self.staging[i % 2], 1, st.queued.take()).await;
        st.queued = ahead;
        let id = read?[0];
        st.i += 1;
        st.last = Some(id);
        Ok(Some(id))
    }

    /// Ends the steps `st` ran: a step queued past the last id taken is undone (its position is
    /// rewritten by the next step, which is fed that id again: queue order puts this write after
    /// it), and the decode stage goes back to the session.
    pub(crate) fn decode_end(&mut self, mut st: DecodeState) {
        let Some(stage) = st.stage.take() else { return };
        if let (Some(_), Some(id)) = (st.queued.take(), st.last) {
            self.past -= 1;
            self.counter -= 1;
            self.ctx.queue.write_buffer(&stage.ws.ids.buffer, 0, bytemuck::bytes_of(&id));
        }
        self.decode = Some(stage);
    }
}

/// Where decode steps stand: the decode stage (out of the session while they run), the ids
/// asked for (`want`) and those the cache has room for (`n`), the ids handed out (`i`), the
/// submitted step whose id comes next (readback buffer `i % 2`).
pub(crate) struct DecodeState {
    stage: Option<Stage>,
    want: usize,
    n: usize,
    i: usize,
    queued: Option<wgpu::SubmissionIndex>,
    ahead: bool,
    last: Option<u32>,
}

/// Decode steps in progress (see [`Session::decoding`]): [`Decoding::next`] hands out one id a
/// call while, with queue-ahead, the step after it already runs.
pub struct Decoding<'s> {
    s: &'s mut Session,
    st: Option<DecodeState>,
}

impl Decoding<'_> {
    /// The next id, or `None` after the `n` asked for (an error instead when the cache filled
    /// before them). Stop by dropping this between calls, not while one is pending.
    pub async fn next(&mut self) -> Result<Option<u32>> {
        self.s.decode_next(self.st.as_mut().unwrap()).await
    }
}

impl Drop for Decoding<'_> {
    fn drop(&mut self) {
        if let Some(st) = self.st.take() {
            self.s.decode_end(st);
        }
    }
}
