// Package smoke plays a topology's smoke section against a running
// cluster: scenarios of bots that log in and go through their steps, and
// chaos steps that harm the cluster while a scenario plays, each checked
// and reported (as text, JSON or JUnit XML). Bringing the cluster up and
// down, and acting on its processes, is the caller's: see Cluster.
package smoke
