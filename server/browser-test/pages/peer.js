// SPDX-License-Identifier: MPL-2.0
// The browser side of the tutorials, as kurento-utils' WebRtcPeer does it: a camera (Chromium's
// fake device or a y4m file) or a painted canvas, one RTCPeerConnection that offers, local ICE
// candidates handed to the test through the exposed `kmsCandidate` function, remote candidates
// and the answer given back by the test. Everything the test reads comes from the page's own
// APIs: video size, getStats, pixels of a frame drawn on a canvas, data channel messages.
'use strict';

window.kms = (() => {
  let pc = null;
  let channel = null;
  const received = [];
  const channelEvents = [];

  /** A stream painted on a canvas: a solid colour with a moving bar, so frames keep coming. */
  function paintedStream(color, width, height) {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const g = canvas.getContext('2d');
    let x = 0;
    // setInterval, not requestAnimationFrame: frames must come even in a hidden page.
    setInterval(() => {
      g.fillStyle = `rgb(${color.join(',')})`;
      g.fillRect(0, 0, width, height);
      g.fillStyle = 'rgb(255,255,255)';
      g.fillRect(x, 0, 8, 16);
      x = (x + 4) % width;
    }, 33);
    return canvas.captureStream(30);
  }

  /**
   * Opens the peer connection and returns the SDP offer.
   * opts: { send (default true), receive (default true), audio (default false),
   *         color: [r,g,b] to send a painted canvas instead of the camera,
   *         dataChannel: label of a channel created before the offer }
   */
  async function start(opts = {}) {
    const send = opts.send !== false;
    const receive = opts.receive !== false;
    pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    pc.onicecandidate = (e) => {
      if (e.candidate && e.candidate.candidate) window.kmsCandidate(e.candidate.toJSON());
    };
    pc.ontrack = (e) => {
      if (e.track.kind !== 'video') return;
      const remote = document.getElementById('remote');
      remote.srcObject = e.streams[0] || new MediaStream([e.track]);
    };
    if (opts.dataChannel !== undefined && opts.dataChannel !== null) {
      channel = pc.createDataChannel(opts.dataChannel);
      channel.onopen = () => channelEvents.push('open');
      channel.onclose = () => channelEvents.push('close');
      channel.onmessage = (e) => received.push(typeof e.data === 'string' ? e.data : '[binary]');
    }
    if (send) {
      const stream = opts.color
        ? paintedStream(opts.color, 640, 480)
        : await navigator.mediaDevices.getUserMedia({
          video: { width: 640, height: 480 },
          audio: !!opts.audio,
        });
      document.getElementById('local').srcObject = stream;
      for (const track of stream.getTracks()) {
        if (receive) pc.addTrack(track, stream);
        else pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      }
    } else if (receive) {
      pc.addTransceiver('video', { direction: 'recvonly' });
      if (opts.audio) pc.addTransceiver('audio', { direction: 'recvonly' });
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    return offer.sdp;
  }

  async function setAnswer(sdp) {
    await pc.setRemoteDescription({ type: 'answer', sdp });
  }

  async function addCandidate(c) {
    await pc.addIceCandidate(c);
  }

  /** What a user would look at: the remote video's size and the receivers' counters. */
  async function videoStats() {
    const remote = document.getElementById('remote');
    const out = {
      width: remote.videoWidth,
      height: remote.videoHeight,
      framesDecoded: 0,
      audioPacketsReceived: 0,
      connectionState: pc ? pc.connectionState : 'none',
      iceConnectionState: pc ? pc.iceConnectionState : 'none',
    };
    if (pc) {
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') out.framesDecoded += s.framesDecoded || 0;
        if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audioPacketsReceived += s.packetsReceived || 0;
      });
    }
    return out;
  }

  /** The RGBA pixels of the current frame of `which` ('remote' or 'local'), scaled to w×h,
   *  base64-encoded. */
  function capture(which, w, h) {
    const video = document.getElementById(which);
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const g = canvas.getContext('2d', { willReadFrequently: true });
    g.drawImage(video, 0, 0, w, h);
    const data = g.getImageData(0, 0, w, h).data;
    let bin = '';
    for (let i = 0; i < data.length; i += 0x8000) {
      bin += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
    }
    return btoa(bin);
  }

  function sendText(text) {
    channel.send(text);
  }

  function dataChannel() {
    return { state: channel ? channel.readyState : 'none', events: channelEvents.slice(), received: received.slice() };
  }

  function close() {
    if (pc) pc.close();
  }

  /** Reads stats from a peer connection made by someone else (kurento-utils' WebRtcPeer). */
  function adopt(external) {
    pc = external;
  }

  return { start, setAnswer, addCandidate, videoStats, capture, sendText, dataChannel, close, adopt };
})();
