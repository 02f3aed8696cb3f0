// Dynamic registration is done: tell the LMS, which closes its registration window.
(window.opener || window.parent).postMessage({subject: "org.imsglobal.lti.close"}, "*");
