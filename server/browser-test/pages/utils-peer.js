// SPDX-License-Identifier: MPL-2.0
// The browser half of the Node hello-world tutorial as the tutorial writes it, with the real
// kurento-utils library (bundled at test time): WebRtcPeerSendrecv with the local and remote
// <video>, generateOffer, processAnswer, onicecandidate to the server and addIceCandidate of
// the server's candidates. It replaces start/setAnswer/addCandidate of peer.js, so the test
// drives it like any other page; stats and frames are read from the WebRtcPeer's connection.
'use strict';

(() => {
  let webRtcPeer = null;

  function start() {
    return new Promise((resolve, reject) => {
      const options = {
        localVideo: document.getElementById('local'),
        remoteVideo: document.getElementById('remote'),
        onicecandidate: (candidate) => window.kmsCandidate(JSON.parse(JSON.stringify(candidate))),
      };
      webRtcPeer = kurentoUtils.WebRtcPeer.WebRtcPeerSendrecv(options, function (error) {
        if (error) return reject(error);
        window.kms.adopt(this.peerConnection);
        this.generateOffer((err, offerSdp) => (err ? reject(err) : resolve(offerSdp)));
      });
    });
  }

  function setAnswer(sdp) {
    return new Promise((resolve, reject) => {
      webRtcPeer.processAnswer(sdp, (error) => (error ? reject(error) : resolve()));
    });
  }

  function addCandidate(candidate) {
    return new Promise((resolve, reject) => {
      webRtcPeer.addIceCandidate(candidate, (error) => (error ? reject(error) : resolve()));
    });
  }

  Object.assign(window.kms, { start, setAnswer, addCandidate });
})();
